package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.qspark.kernels.bench.BenchReport;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.QuantInfo;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.quant.QuantizedModel;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import io.qspark.kernels.testing.Top1;
import io.qspark.kernels.train.AdaQuantOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The finetune table of BENCHMARKS.md: per model and width, plain PTQ (`calibrate`), +CLE,
 * +CLE+bias correction and +CLE+bias correction+AdaQuant at its default steps (`finetune`), each through the command line as a Spark job on local[2]
 * from the first 1,000 training images, then scored on the 10,000 test images.
 * Wall time is the quantizing command's, Spark start-up included. mbv2_s also gets the rows with
 * ReLU6 replaced by ReLU (--cle-relu6 relu), and that float model's own top-1.
 *
 * <p>{@code -Dqspark.bench.models=resnet_s_imb,...} and {@code -Dqspark.bench.widths=8,W4A8,...}
 * select a part of the table, {@code -Dqspark.bench.rows=PTQ,+AdaQuant,...} its rows; {@code -Dqspark.bench.relu6=8,...}
 * the widths of mbv2_s's ReLU rows (empty: none).
 */
@Tag("bench")
class FinetuneTableBench {
  private static final String[][] WIDTHS = {{"8", "--bits", "8"}, {"6", "--bits", "6"},
      {"W4A8", "--weight-bits", "4", "--activation-bits", "8"}, {"W4A4", "--weight-bits", "4", "--activation-bits", "4"}};

  private record Cell(double top1, double seconds) {}

  @Test
  void finetuneTable() throws Exception {
    List<String> models = List.of(System.getProperty("qspark.bench.models", "resnet_s,mbv2_s,resnet_s_imb").split(","));
    List<String> widths = List.of(System.getProperty("qspark.bench.widths", "8,6,W4A8,W4A4").split(","));
    List<String> relu6Widths = List.of(System.getProperty("qspark.bench.relu6", String.join(",", widths)).split(","));
    List<String> rowNames = List.of(System.getProperty("qspark.bench.rows", "PTQ,+CLE,+CLE+BC,+AdaQuant").split(","));
    Path work = Files.createTempDirectory("finetune-bench");
    StringBuilder b = new StringBuilder("## finetune: quantized top-1 (10,000 test images) and wall time per row\n\n")
        .append(BenchReport.header()).append("Load average before: ").append(BenchReport.loadAverage())
        .append(".\n\n| model | row |");
    StringBuilder rule = new StringBuilder("|---|---|");
    for (String[] w : WIDTHS) {
      if (!widths.contains(w[0])) continue;
      b.append(' ').append(w[0]).append(" top-1 | ").append(w[0]).append(" s |");
      rule.append("---:|---:|");
    }
    b.append('\n').append(rule).append('\n');
    String floatNote = "";
    for (String model : models) {
      List<String[]> rows = new ArrayList<>();
      rows.add(new String[] {"PTQ", "calibrate"});
      rows.add(new String[] {"+CLE", "finetune", "--cle"});
      rows.add(new String[] {"+CLE+BC", "finetune", "--cle", "--bias-correction"});
      rows.add(new String[] {"+AdaQuant", "finetune", "--cle", "--bias-correction", "--adaquant-steps",
          Integer.toString(AdaQuantOptions.defaults().steps())});
      if (model.equals("mbv2_s") && relu6Widths.stream().anyMatch(w -> !w.isEmpty())) {
        rows.add(new String[] {"+CLE (ReLU6 -> ReLU)", "finetune", "--cle", "--cle-relu6", "relu"});
        rows.add(new String[] {"+CLE (ReLU6 -> ReLU)+BC", "finetune", "--cle", "--cle-relu6", "relu", "--bias-correction"});
      }
      for (String[] row : rows) {
        if (!rowNames.contains(row[0]) && !row[0].contains("ReLU6")) continue;
        b.append("| ").append(model).append(" | ").append(row[0]).append(" |");
        for (String[] w : WIDTHS) {
          if (!widths.contains(w[0])) continue;
          if (row[0].contains("ReLU6") && !relu6Widths.contains(w[0])) {
            b.append(" - | - |");
            continue;
          }
          Path out = work.resolve(model + "-" + row[0].replaceAll("\\W", "") + "-" + w[0]);
          Cell c = run(model, row, w, out);
          b.append(String.format(Locale.ROOT, " %.2f | %.1f |", c.top1(), c.seconds()));
          System.out.printf(Locale.ROOT, "%s %s %s: %.2f in %.1f s%n", model, row[0], w[0], c.top1(), c.seconds());
          if (row[0].startsWith("+CLE (ReLU6") && floatNote.isEmpty() && !row[0].endsWith("BC")) {
            floatNote = String.format(Locale.ROOT, "mbv2_s float with ReLU6 -> ReLU on the equalized pairs: %.2f%n",
                top1(out.resolve("float_model.onnx").toString()));
          }
        }
        b.append('\n');
      }
    }
    b.append('\n').append(floatNote).append("Load average after: ").append(BenchReport.loadAverage()).append('\n');
    System.out.println(b);
    Path table = Path.of("target", "bench", "finetune.md");
    Files.createDirectories(table.getParent());
    Files.writeString(table, b.toString());
  }

  private static Cell run(String model, String[] row, String[] width, Path out) throws Exception {
    List<String> args = new ArrayList<>(List.of(row[1], "--model", Shared.model(model + ".onnx").toString(),
        "--data", CalibrateSparkTest.TRAIN, "--mean", "72.94", "--std", "90.02", "--calib-size", "1000",
        "--master", "local[2]", "--out", out.toString()));
    args.addAll(Arrays.asList(row).subList(2, row.length));
    args.addAll(Arrays.asList(width).subList(1, width.length));
    long t0 = System.nanoTime();
    Run r = Run.of(args.toArray(new String[0]));
    double seconds = (System.nanoTime() - t0) / 1e9;
    assertEquals(0, r.code(), r.err());
    return new Cell(top1(out.toString()), seconds);
  }

  private static Tensor test;
  private static int[] labels;

  /**
   * Top-1 of an output folder's quantized model (or of a float model file) on the 10k test
   * images, in this JVM on 2 threads: the same fake-quant numerics as `evaluate` (which gives
   * the same figure for any partitioning), at half its cost since it skips the float model.
   */
  private static double top1(String path) throws Exception {
    if (test == null) {
      test = Shared.testImages(10_000);
      labels = Shared.testLabels(10_000);
    }
    Path p = Path.of(path);
    if (!Files.isDirectory(p)) return Top1.floating(Model.load(p).forInference().graph(), test, labels);
    Model m = Model.load(p.resolve("float_model.onnx")).forInference();
    QuantInfo.Parsed info = QuantInfo.read(Files.readString(p.resolve("quant_info.json")));
    QuantizedModel qm = new QuantizedModel(m.graph(), QuantPlan.of(m.graph(), info.config()), info.params());
    return Top1.quantized(qm, test, labels);
  }
}
