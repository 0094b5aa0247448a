/**
 * The test-set panel's strip of misclassified images: the first `max` mistakes as small
 * thumbnails captioned "true → predicted"; a click opens the image in the draw panel.
 */
import type { IdxU8 } from "./idx.js";

export function renderMistakes(
  container: HTMLElement,
  images: IdxU8,
  labels: IdxU8,
  classes: Int32Array,
  names: readonly string[],
  onPick: (index: number) => void,
  max = 15,
): void {
  const [, h, w] = images.dims as [number, number, number];
  const items: HTMLElement[] = [];
  for (let i = 0; i < classes.length && items.length < max; i++) {
    if (classes[i] === labels.data[i]) continue;
    const canvas = document.createElement("canvas");
    canvas.width = w;
    canvas.height = h;
    const img = new ImageData(w, h);
    for (let p = 0; p < w * h; p++) {
      const v = images.data[i * w * h + p]!;
      img.data.set([v, v, v, 255], 4 * p);
    }
    canvas.getContext("2d")!.putImageData(img, 0, 0);
    const item = document.createElement("button");
    item.type = "button";
    item.className = "mistake";
    item.title = `test image #${i}: label ${names[labels.data[i]!]}, predicted ${names[classes[i]!]}`;
    const caption = document.createElement("span");
    caption.textContent = `${names[labels.data[i]!]} → ${names[classes[i]!]}`;
    item.append(canvas, caption);
    item.addEventListener("click", () => onPick(i));
    items.push(item);
  }
  container.replaceChildren(...items);
}
