/**
 * The demo's models: each with its `.onebit` file (web/public/models/, made by
 * scripts/demo-model.mjs), its test set (served at data/ by web/vite.config.ts) and the
 * words the page uses for it. The page picks one with `?demo=ID` (default mnist).
 */
export interface DemoModel {
  id: string;
  /** The picker's label. */
  label: string;
  /** The model file, relative to the page. */
  url: string;
  /** The test set's name and its IDX files, relative to the page. */
  testSet: { name: string; images: string; labels: string };
  /** One item of the data set ("digit", "item"). */
  item: string;
  /** The drawing panel's title. */
  drawTitle: string;
  /** The page's lede. */
  about: string;
  /** Under the drawing pad. */
  drawHint: string;
}

export const DEMO_MODELS: readonly DemoModel[] = [
  {
    id: "mnist",
    label: "MNIST digits: bnn-cnn (a chain)",
    url: "./models/mnist-bnn-cnn.onebit",
    testSet: {
      name: "MNIST",
      images: "./data/t10k-images-idx3-ubyte",
      labels: "./data/t10k-labels-idx1-ubyte",
    },
    item: "digit",
    drawTitle: "1. Draw a digit",
    about:
      "A small CNN for handwritten digits (MNIST) whose middle layers have 1-bit weights and 1-bit activations: " +
      "each multiply-add is an XNOR and a popcount in WebAssembly. Trained and exported with onebit, no server involved.",
    drawHint: "Draw with the mouse (one digit, large), or pick an MNIST test image.",
  },
  {
    id: "fashion",
    label: "Fashion-MNIST clothes: residual BNN (a graph)",
    url: "./models/fashion-residual.onebit",
    testSet: {
      name: "Fashion-MNIST",
      images: "./data/fashion-mnist/t10k-images-idx3-ubyte",
      labels: "./data/fashion-mnist/t10k-labels-idx1-ubyte",
    },
    item: "item",
    drawTitle: "1. Pick a test image, or draw",
    about:
      "A residual binary network for Fashion-MNIST (clothes, shoes and bags): every hidden convolution has 1-bit weights " +
      "and 1-bit activations, and real-valued shortcuts add each block's input to its output, as in Bi-Real Net. " +
      "A .onebit 2.0 graph, trained and exported with onebit, no server involved.",
    drawHint:
      "Pick a Fashion-MNIST test image (drawing works too, but the network knows photos of clothes, not sketches).",
  },
];

/** The model of `?demo=ID`; an unknown id is an error naming the choices. */
export function pickModel(id: string | null): DemoModel {
  const model = DEMO_MODELS.find((m) => m.id === (id ?? "mnist"));
  if (!model) {
    throw new Error(`unknown demo model '${id}'; choose one of: ${DEMO_MODELS.map((m) => m.id).join(", ")}`);
  }
  return model;
}
