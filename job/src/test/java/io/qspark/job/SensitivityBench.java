package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.qspark.kernels.bench.BenchReport;
import io.qspark.kernels.io.Json;
import io.qspark.kernels.testing.Shared;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The figures for sensitivity and the accuracy budget, each command in-process on
 * local[2] from the first 1,000 training images.
 *
 * <p>{@link #sensitivityCost}: `sensitivity` on mbv2_s at W4A4, its wall time against one
 * evaluation of the float model on the same images in one task (the command times both in the
 * same process: report.json's "cost"), --variants only and both. {@link #budget}: `calibrate
 * --max-drop 1.0` at W4A4 on resnet_s and mbv2_s, then `evaluate` of the folder and of the float
 * model on the 10,000 test images. Writes target/sensitivity-bench.md.
 *
 * <p>{@code -Dqspark.bench.models=resnet_s,mbv2_s}, {@code -Dqspark.bench.drop=1.0}; for the cost,
 * {@code -Dqspark.bench.variants=only,both}, {@code -Dqspark.bench.images=1000}.
 */
@Tag("bench")
class SensitivityBench {
  static final String MEAN_STD = "--mean 72.94 --std 90.02";

  static List<String> common(String model) {
    return common(model, "1000");
  }

  static List<String> common(String model, String images) {
    List<String> a = new ArrayList<>(List.of("--model", Shared.model(model + ".onnx").toString(), "--data", CalibrateSparkTest.TRAIN,
        "--calib-size", images, "--master", "local[2]", "--bits", "4", "--overwrite"));
    a.addAll(List.of(MEAN_STD.split(" ")));
    return a;
  }

  @Test
  @SuppressWarnings("unchecked")
  void sensitivityCost() throws Exception {
    Path work = Files.createTempDirectory("sensitivity-bench");
    StringBuilder b = new StringBuilder("## sensitivity on mbv2_s, W4A4\n\n").append(BenchReport.header());
    String images = System.getProperty("qspark.bench.images", "1000");
    for (String variants : System.getProperty("qspark.bench.variants", "only,both").split(",")) {
      String load = BenchReport.loadAverage();
      List<String> a = new ArrayList<>(List.of("sensitivity", "--variants", variants, "--out", work.resolve(variants).toString()));
      a.addAll(common("mbv2_s", images));
      long t0 = System.nanoTime();
      Run r = Run.of(a.toArray(String[]::new));
      double wall = (System.nanoTime() - t0) / 1e9;
      assertEquals(0, r.code(), r.err());
      Map<String, Object> rep = (Map<String, Object>) Json.read(Files.readString(work.resolve(variants).resolve("report.json")));
      Map<String, Object> cost = (Map<String, Object>) rep.get("cost");
      Map<String, Object> t = (Map<String, Object>) rep.get("timings");
      long points = ((List<Object>) ((Map<String, Object>) rep.get("sensitivity")).get("points")).size();
      double evals = ((Number) cost.get("evaluations")).doubleValue();
      int slots = ((Number) cost.get("slots")).intValue();
      b.append(String.format(Locale.ROOT, "--variants %s: %d points, %s variants, %d slots: sensitivity job %.1f s, one evaluation"
          + " (" + images + " images, one task) %.2f s: **%.1f evaluations**; bound 1.2 x points / slots = %.1f; command wall %.1f s;"
          + " load average before %s, after %s.%n%n", variants, points, cost.get("variants"), slots,
          ((Number) t.get("sensitivity_s")).doubleValue(), ((Number) t.get("one_evaluation_s")).doubleValue(), evals,
          1.2 * points / slots, wall, load, BenchReport.loadAverage()));
      b.append("```\n").append(r.out()).append("```\n\n");
    }
    Files.writeString(Path.of("target", "sensitivity-bench.md"), b.toString());
    System.out.println(b);
  }

  /** Top-1 on the 10,000 test images of a calibration folder written before ({@code -Dqspark.bench.folder}) and of its float model. */
  @Test
  void evaluateFolder() throws Exception {
    String folder = System.getProperty("qspark.bench.folder");
    String model = System.getProperty("qspark.bench.model", "resnet_s");
    if (folder == null) return;
    Run q = Run.of(("evaluate --model " + folder + " --data " + CalibrateSparkTest.TEST + " --master local[2]").split(" "));
    Run f = Run.of(("evaluate --model " + Shared.model(model + ".onnx") + " --data " + CalibrateSparkTest.TEST + " "
        + MEAN_STD + " --master local[2]").split(" "));
    assertEquals(0, q.code(), q.err());
    assertEquals(0, f.code(), f.err());
    String line = String.format(Locale.ROOT, "%s: test set (10,000): float %.2f, quantized %.2f (folder %s)%n", model,
        AccuracyBudgetSparkTest.top1(f.out()), AccuracyBudgetSparkTest.top1(q.out()), folder);
    Files.writeString(Path.of("target", "evaluate-folder-bench.md"), line);
    System.out.println(line);
  }

  @Test
  @SuppressWarnings("unchecked")
  void budget() throws Exception {
    Path work = Files.createTempDirectory("budget-bench");
    String drop = System.getProperty("qspark.bench.drop", "1.0");
    StringBuilder b = new StringBuilder("## calibrate --max-drop " + drop + ", W4A4\n\n").append(BenchReport.header());
    for (String model : System.getProperty("qspark.bench.models", "resnet_s,mbv2_s").split(",")) {
      String load = BenchReport.loadAverage();
      Path out = work.resolve(model);
      List<String> a = new ArrayList<>(List.of("calibrate", "--max-drop", drop, "--out", out.toString()));
      a.addAll(common(model));
      long t0 = System.nanoTime();
      Run c = Run.of(a.toArray(String[]::new));
      double wall = (System.nanoTime() - t0) / 1e9;
      assertEquals(0, c.code(), c.err());
      Map<String, Object> rep = (Map<String, Object>) Json.read(Files.readString(out.resolve("report.json")));
      Map<String, Object> budget = (Map<String, Object>) rep.get("accuracy_budget");
      List<Map<String, Object>> raised = (List<Map<String, Object>>) budget.get("raised");
      Run q = Run.of(("evaluate --model " + out + " --data " + CalibrateSparkTest.TEST + " --master local[2]").split(" "));
      Run f = Run.of(("evaluate --model " + Shared.model(model + ".onnx") + " --data " + CalibrateSparkTest.TEST + " "
          + MEAN_STD + " --master local[2]").split(" "));
      assertEquals(0, q.code(), q.err());
      assertEquals(0, f.code(), f.err());
      double qt = AccuracyBudgetSparkTest.top1(q.out()), ft = AccuracyBudgetSparkTest.top1(f.out());
      List<String> names = new ArrayList<>();
      for (Map<String, Object> r : raised) names.add(r.get("kind").equals("weights") ? r.get("node") + " (weights)" : (String) r.get("point"));
      b.append(String.format(Locale.ROOT, "%s: calibration images top-1 float %s, W4A4 %s -> %s (met: %s); **%d of %s points"
          + " raised to 8 bits**; test set (10,000): float %.2f, quantized **%.2f** (drop %.2f); calibrate wall %.1f s"
          + " (budget %s s, %s scoring jobs), load average before %s, after %s. Raised: %s.%n%n", model,
          budget.get("float_top1"), ((Map<String, Object>) budget.get("before")).get("top1"),
          ((Map<String, Object>) budget.get("after")).get("top1"), budget.get("met"), raised.size(), budget.get("candidates"), ft, qt,
          ft - qt, wall, budget.get("seconds"), budget.get("scoring_jobs"), load, BenchReport.loadAverage(), String.join(", ", names)));
    }
    Files.writeString(Path.of("target", "budget-bench.md"), b.toString());
    System.out.println(b);
  }
}
