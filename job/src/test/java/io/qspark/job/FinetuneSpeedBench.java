package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qspark.kernels.bench.BenchReport;
import io.qspark.kernels.testing.Shared;
import io.qspark.kernels.train.AdaQuantOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The speed figure: `finetune --adaquant-steps S` at AdaQuant's default steps against
 * `calibrate` on resnet_s, 1,000 training images, W4A4, each the whole command in-process on
 * local[2] (its own Spark session, data, every stage, the error pass and the folder), in one
 * JVM, alternating after one untimed run of each. The ratio of the medians is the figure;
 * report.json's stage times say where finetune's time went.
 *
 * <p>{@code -Dqspark.bench.rounds=3}, {@code -Dqspark.bench.model=resnet_s},
 * {@code -Dqspark.bench.steps=S} (default: {@link AdaQuantOptions#defaults()}'s);
 * {@code -Dqspark.bench.finetune="--adaround-steps 20"} replaces finetune's own flags (AdaRound's figure),
 * {@code -Dqspark.bench.widths="--bits 4 --bias-bits 8"} both commands' widths (default {@code --bits 4}).
 */
@Tag("bench")
class FinetuneSpeedBench {
  @Test
  void finetuneVsCalibrate() throws Exception {
    int rounds = Integer.getInteger("qspark.bench.rounds", 3);
    String model = System.getProperty("qspark.bench.model", "resnet_s");
    String steps = System.getProperty("qspark.bench.steps", Integer.toString(AdaQuantOptions.defaults().steps()));
    Path work = Files.createTempDirectory("finetune-speed");
    List<String> common = List.of("--model", Shared.model(model + ".onnx").toString(), "--data", CalibrateSparkTest.TRAIN,
        "--mean", "72.94", "--std", "90.02", "--calib-size", "1000", "--master", "local[2]", "--overwrite");
    List<String> widths = List.of(System.getProperty("qspark.bench.widths", "--bits 4").trim().split("\\s+"));
    common = new ArrayList<>(common);
    common.addAll(widths);
    String own = System.getProperty("qspark.bench.finetune", "--adaquant-steps " + steps);
    List<String> calibrate = new ArrayList<>(List.of("calibrate"));
    calibrate.addAll(common);
    List<String> finetune = new ArrayList<>(List.of("finetune"));
    finetune.addAll(List.of(own.trim().split("\\s+")));
    finetune.addAll(common);
    String load = BenchReport.loadAverage();
    time(calibrate, work.resolve("c"));
    time(finetune, work.resolve("f"));
    List<Double> c = new ArrayList<>(), f = new ArrayList<>();
    List<String> stages = new ArrayList<>();
    for (int r = 0; r < rounds; r++) {
      c.add(time(calibrate, work.resolve("c")));
      f.add(time(finetune, work.resolve("f")));
      stages.add(stages(work.resolve("f")));
    }
    double cm = median(c), fm = median(f);
    StringBuilder b = new StringBuilder("## finetune " + own + " vs calibrate (" + String.join(" ", widths) + ")\n\n")
        .append(BenchReport.header()).append("Load average before: ").append(load).append(", after: ")
        .append(BenchReport.loadAverage()).append(".\n\n")
        .append(String.format(Locale.ROOT, "%s, 1,000 images, " + String.join(" ", widths).replace("%", "%%") + ", local[2], %d alternating rounds: calibrate %.1f s %s,"
            + " finetune %.1f s %s, ratio of medians **%.2fx**%n%n", model, rounds, cm, fmt(c), fm, fmt(f), fm / cm))
        .append("finetune's stages per round (report.json, s):\n\n");
    for (String s : stages) b.append("- ").append(s).append('\n');
    System.out.println(b);
    Path out = Path.of("target", "bench", "finetune-speed.md");
    Files.createDirectories(out.getParent());
    Files.writeString(out, b.toString());
  }

  private static double time(List<String> args, Path out) {
    List<String> a = new ArrayList<>(args);
    a.addAll(List.of("--out", out.toString()));
    long t0 = System.nanoTime();
    Run r = Run.of(a.toArray(new String[0]));
    double s = (System.nanoTime() - t0) / 1e9;
    assertEquals(0, r.code(), r.err());
    return s;
  }

  private static String stages(Path folder) throws Exception {
    JsonNode st = new ObjectMapper().readTree(folder.resolve("report.json").toFile()).path("stages");
    StringBuilder b = new StringBuilder();
    for (JsonNode e : st) b.append(String.format(Locale.ROOT, "%s %.1f, ", e.path("stage").asText(), e.path("seconds").asDouble()));
    return b.toString();
  }

  private static String fmt(List<Double> xs) {
    StringBuilder b = new StringBuilder("(");
    for (double x : xs) b.append(String.format(Locale.ROOT, "%s%.1f", b.length() > 1 ? ", " : "", x));
    return b.append(')').toString();
  }

  private static double median(List<Double> xs) {
    List<Double> s = new ArrayList<>(xs);
    Collections.sort(s);
    int n = s.size();
    return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
  }
}
