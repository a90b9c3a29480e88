package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.qspark.kernels.data.Idx;
import io.qspark.kernels.testing.RealWorld;
import io.qspark.kernels.testing.Shared;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Per-output 8-bit SQNR of the realworld models on the images and calibration set their README
 * names for the PyTorch peer figures: calibrated on Fashion-MNIST training images 0-255, SQNR of
 * the quantized outputs against float on training images 1000-1063 (normalized, resized to the
 * model, gray repeated to RGB; siamese2's second input the batch reversed), for `calibrate`
 * (mse) and for `finetune` with CLE, bias correction and AdaQuant (its outputs against the model
 * given: `evaluate --reference`). Prints the command lines and
 * the `sqnr <output>: <dB>` lines of `evaluate`. Run with
 * {@code mvn -o test -pl job -am -Dtest=RealWorldSqnrBench -Dsurefire.failIfNoSpecifiedTests=false
 * -Dqspark.bench.models=tiny_yolo,siamese2,lraspp_mobilenet_v3_large}; {@code -Dqspark.bench.refine=R} adds
 * {@code --refine-rounds R} to both commands, {@code -Dqspark.bench.rows=calibrate|finetune} runs one,
 * {@code -Dqspark.bench.rangeGroups=G} adds {@code --range-groups G} to both, {@code -Dqspark.bench.evalFrom=I}
 * and {@code -Dqspark.bench.evalCount=N} evaluate the image models on training images I to I+N-1.
 */
@Tag("bench")
class RealWorldSqnrBench {
  static final String TRAIN = "train-images-idx3-ubyte.gz";

  @Test
  void perOutputSqnr() throws Exception {
    Path dir = Files.createDirectories(Path.of("target", "realworld-sqnr").toAbsolutePath());
    String models = System.getProperty("qspark.bench.models", "siamese2,tiny_yolo,lraspp_mobilenet_v3_large");
    int steps = Integer.getInteger("qspark.bench.adaquantSteps", 10);
    int refine = Integer.getInteger("qspark.bench.refine", 0);
    String rows = System.getProperty("qspark.bench.rows", "calibrate,finetune");
    int groups = Integer.getInteger("qspark.bench.rangeGroups", 1);
    // the README's held-out images by default; another range to see past its one extreme image (image models only)
    int evalFrom = Integer.getInteger("qspark.bench.evalFrom", 1000), evalCount = Integer.getInteger("qspark.bench.evalCount", 64);
    String[] refineArgs = refine > 0 ? new String[] {"--refine-rounds", Integer.toString(refine)} : new String[0];
    if (groups > 1) refineArgs = concat(refineArgs, new String[] {"--range-groups", Integer.toString(groups)});
    String suffix = (refine > 0 ? "-refine" + refine : "") + (groups > 1 ? "-groups" + groups : "");
    for (String name : models.split(",")) {
      Path m = dir.resolve(name);
      String[] calib, eval;
      if (name.equals("siamese2")) {
        calib = new String[] {"--data", pairs(m.resolve("calib.parquet"), 0, 256).toString(), "--input-columns", "left=a,right=b"};
        eval = new String[] {"--data", pairs(m.resolve("eval.parquet"), 1000, 64).toString(), "--input-columns", "left=a,right=b"};
      } else {
        int size = name.startsWith("tiny_yolo") ? 160 : 128;
        String[] pre = {"--mean", "72.94", "--std", "90.02", "--resize", Integer.toString(size), "--gray-to-rgb"};
        calib = concat(new String[] {"--data", idx(m.resolve("calib-images-idx3-ubyte"), 0, 256).toString()}, pre);
        eval = new String[] {"--data", idx(m.resolve("eval-images-idx3-ubyte"), evalFrom, evalCount).toString()};
      }
      String model = RealWorld.model(name + ".onnx").toString();
      if (rows.contains("calibrate")) {
        run(name + " calibrate (mse)" + suffix, concat(concat(new String[] {"calibrate", "--model", model, "--calib-size", "256",
            "--method", "mse", "--overwrite", "--out", m.resolve("calib" + suffix).toString(), "--master", "local[2]"}, calib),
            refineArgs), concat(new String[] {"evaluate", "--model", m.resolve("calib" + suffix).toString(), "--master", "local[2]"}, eval));
      }
      if (rows.contains("finetune")) {
        run(name + " finetune (CLE, bias correction, AdaQuant " + steps + ")" + suffix, concat(concat(new String[] {"finetune",
            "--model", model, "--calib-size", "256", "--cle", "--bias-correction", "--adaquant-steps", Integer.toString(steps),
            "--overwrite", "--out", m.resolve("finetune" + suffix).toString(), "--master", "local[2]"}, calib), refineArgs),
            // against the model given, not the folder's float_model.onnx (which bias correction and AdaQuant changed)
            concat(new String[] {"evaluate", "--model", m.resolve("finetune" + suffix).toString(), "--master", "local[2]",
                "--reference", model}, eval));
      }
    }
  }

  private static void run(String what, String[] make, String[] evaluate) {
    long t0 = System.nanoTime();
    Run c = Run.of(make);
    assertEquals(0, c.code(), c.err());
    Run e = Run.of(evaluate);
    assertEquals(0, e.code(), e.err());
    System.out.printf("%s (%.0f s): qspark %s%n", what, (System.nanoTime() - t0) / 1e9, String.join(" ", make));
    e.out().lines().filter(l -> l.startsWith("sqnr ")).forEach(l -> System.out.println("  " + l));
  }

  private static String[] concat(String[] a, String[] b) {
    List<String> r = new ArrayList<>(List.of(a));
    r.addAll(List.of(b));
    return r.toArray(new String[0]);
  }

  private static byte[] train(int from, int n) throws IOException {
    try (InputStream in = Files.newInputStream(Shared.fashionMnist(TRAIN))) {
      byte[] all = Idx.read(in, TRAIN, from + n).data();
      return java.util.Arrays.copyOfRange(all, from * 784, (from + n) * 784);
    }
  }

  /** Training images [from, from + n) as an IDX file (no labels: the models are not classifiers). */
  static Path idx(Path file, int from, int n) throws IOException {
    Files.createDirectories(file.getParent());
    ByteBuffer b = ByteBuffer.allocate(16 + 784 * n).putInt(0x0803).putInt(n).putInt(28).putInt(28);
    b.put(train(from, n));
    Files.write(file, b.array());
    return file;
  }

  /** siamese2's pairs: training image from + i in column a, the batch reversed in column b, normalized. */
  static Path pairs(Path out, int from, int n) throws IOException {
    if (Files.exists(out)) return out;
    byte[] px = train(from, n);
    // and, for the tests of bad input, a column of the wrong length (c) and one of the wrong type (s)
    StructType schema = new StructType().add("a", DataTypes.createArrayType(DataTypes.FloatType))
        .add("b", DataTypes.createArrayType(DataTypes.FloatType)).add("c", DataTypes.createArrayType(DataTypes.FloatType))
        .add("s", DataTypes.StringType);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      rows.add(RowFactory.create(normalized(px, i), normalized(px, n - 1 - i), new Float[10], "image " + (from + i)));
    }
    SparkSession spark = TestData.session();
    try {
      spark.createDataFrame(rows, schema).coalesce(1).write().parquet(out.toUri().toString());
    } finally {
      spark.stop();
    }
    return out;
  }

  private static Float[] normalized(byte[] px, int image) {
    Float[] x = new Float[784];
    for (int k = 0; k < 784; k++) x[k] = ((px[image * 784 + k] & 0xff) - Shared.MEAN) / Shared.STD;
    return x;
  }
}
