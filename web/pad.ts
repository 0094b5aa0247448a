/**
 * The drawing pad: white ink on black (as in MNIST), a round pen about a tenth of the
 * pad wide, so that a digit drawn to the pad's height ends up with MNIST's 2-3 pixel
 * strokes after downscaling. Calls `onChange` after every stroke segment.
 */

export class DrawingPad {
  private readonly ctx: CanvasRenderingContext2D;
  private last: { x: number; y: number } | null = null;

  constructor(
    readonly canvas: HTMLCanvasElement,
    private readonly onChange: () => void,
  ) {
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    if (!ctx) throw new Error("DrawingPad: no 2D context");
    this.ctx = ctx;
    this.clear();
    canvas.addEventListener("pointerdown", (e) => {
      canvas.setPointerCapture(e.pointerId);
      this.last = this.point(e);
      this.segment(this.last, this.last);
    });
    canvas.addEventListener("pointermove", (e) => {
      if (!this.last) return;
      const p = this.point(e);
      this.segment(this.last, p);
      this.last = p;
    });
    const end = () => {
      this.last = null;
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
  }

  clear(): void {
    this.ctx.fillStyle = "#000";
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
  }

  /** Shows a 28x28 grey image scaled up to the pad (for a picked test image). */
  show(pixels: Uint8Array, size: number): void {
    const small = new ImageData(size, size);
    for (let i = 0; i < size * size; i++) {
      small.data.set([pixels[i]!, pixels[i]!, pixels[i]!, 255], 4 * i);
    }
    const tmp = document.createElement("canvas");
    tmp.width = tmp.height = size;
    tmp.getContext("2d")!.putImageData(small, 0, 0);
    this.ctx.imageSmoothingEnabled = false;
    this.ctx.drawImage(tmp, 0, 0, this.canvas.width, this.canvas.height);
  }

  /** Ink per pixel (the red channel: 0 = background, 255 = full ink). */
  ink(): Uint8Array {
    const { width, height } = this.canvas;
    const rgba = this.ctx.getImageData(0, 0, width, height).data;
    const out = new Uint8Array(width * height);
    for (let i = 0; i < out.length; i++) out[i] = rgba[4 * i]!;
    return out;
  }

  private point(e: PointerEvent): { x: number; y: number } {
    const r = this.canvas.getBoundingClientRect();
    return {
      x: ((e.clientX - r.left) * this.canvas.width) / r.width,
      y: ((e.clientY - r.top) * this.canvas.height) / r.height,
    };
  }

  private segment(a: { x: number; y: number }, b: { x: number; y: number }): void {
    const c = this.ctx;
    c.strokeStyle = "#fff";
    c.lineWidth = this.canvas.width / 12;
    c.lineCap = "round";
    c.lineJoin = "round";
    c.beginPath();
    c.moveTo(a.x, a.y);
    c.lineTo(b.x, b.y);
    c.stroke();
    this.onChange();
  }
}
