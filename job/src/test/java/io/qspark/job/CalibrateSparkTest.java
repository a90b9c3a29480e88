package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.testing.Shared;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** `calibrate` as a Spark job: reproducible decisions, accuracy, and bad input leaving nothing behind. */
@Tag("slow")
class CalibrateSparkTest {
  static final String TRAIN = Shared.fashionMnist("train-images-idx3-ubyte.gz").toString();
  static final String TEST = Shared.fashionMnist("t10k-images-idx3-ubyte.gz").toString();

  static Run calibrate(String model, String data, Path out, String... extra) {
    List<String> args = new java.util.ArrayList<>(List.of("calibrate", "--model", model, "--data", data,
        "--mean", "72.94", "--std", "90.02", "--out", out.toString()));
    args.addAll(List.of(extra));
    return Run.of(args.toArray(new String[0]));
  }

  /** The same images give the same bytes whatever the partitioning and however many cores run it. */
  @Test
  void quantInfoIsIdenticalForAnyPartitioning(@TempDir Path dir) throws Exception {
    byte[] first = null;
    String[][] runs = {{"local[1]", "1"}, {"local[2]", "3"}, {"local[2]", "8"}, {"local[2]", "1"}};
    for (String[] r : runs) {
      Path out = dir.resolve("p" + r[1] + r[0].replaceAll("\\W", ""));
      Run run = calibrate(Run.sampleModel(), Run.sampleImages(), out, "--calib-size", "400",
          "--master", r[0], "--partitions", r[1], "--batch", r[1].equals("3") ? "17" : "64");
      assertEquals(0, run.code(), run.err());
      byte[] info = Files.readAllBytes(out.resolve("quant_info.json"));
      if (first == null) first = info;
      assertArrayEquals(first, info, "quant_info.json with " + r[0] + ", " + r[1] + " partitions");
    }
  }

  /**
   * Per-channel weights and float scales (a non-DPU target): the same bytes for 1 and 3
   * partitions, read back by evaluate, and refused by deploy with one line naming both options.
   */
  @Test
  void perChannelFloatScalesAreReproducibleAndNotDeployable(@TempDir Path dir) throws Exception {
    byte[] first = null;
    for (String p : new String[] {"1", "3"}) {
      Path out = dir.resolve("p" + p);
      Run run = calibrate(Run.sampleModel(), Run.sampleImages(), out, "--calib-size", "300", "--master", "local[2]",
          "--partitions", p, "--weight-granularity", "per-channel", "--scales", "float");
      assertEquals(0, run.code(), run.err());
      byte[] info = Files.readAllBytes(out.resolve("quant_info.json"));
      if (first == null) first = info;
      assertArrayEquals(first, info, "quant_info.json with " + p + " partitions");
    }
    String info = new String(first, java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(info.contains("\"weight_granularity\": \"per-channel\"") && info.contains("\"scales\": \"float\""), info);
    assertTrue(info.contains("\"axis\": 0"), "per-channel weights carry their axis");
    assertTrue(Files.readString(dir.resolve("p1/report.json")).contains("\"scales\": \"float\""));
    Run eval = Run.of("evaluate", "--model", dir.resolve("p1").toString(), "--data", Run.sampleImages(), "--mean", "72.94",
        "--std", "90.02", "--limit", "200", "--master", "local[2]");
    assertEquals(0, eval.code(), eval.err());
    Path dep = dir.resolve("dep");
    Run d = Run.of("deploy", "--calib", dir.resolve("p1").toString(), "--out", dep.toString());
    assertEquals(2, d.code(), d.err());
    assertEquals(1, d.err().strip().lines().count(), d.err());
    assertTrue(d.err().contains("--weight-granularity") && d.err().contains("--scales"), d.err());
    assertFalse(Files.exists(dep));
  }

  /** The issue's acceptance: 1,000 training images, mse, top-1 on the 10k test set within 0.5 of float. */
  @ParameterizedTest
  @CsvSource({"resnet_s.onnx,8,93.09", "resnet_s.onnx,6,93.09", "mbv2_s.onnx,8,92.05", "mbv2_s.onnx,6,92.05"})
  void quantizedTop1WithinHalfAPointOfFloat(String file, int bits, double floatTop1, @TempDir Path dir) {
    Path out = dir.resolve("cal");
    Run cal = calibrate(Shared.model(file).toString(), TRAIN, out, "--bits", Integer.toString(bits),
        "--method", "mse", "--master", "local[2]");
    assertEquals(0, cal.code(), cal.err());
    assertTrue(Files.exists(out.resolve("quantize_eval_model.onnx")));
    assertTrue(Files.exists(out.resolve("report.json")));
    Run eval = Run.of("evaluate", "--model", out.toString(), "--data", TEST, "--mean", "72.94", "--std", "90.02",
        "--master", "local[2]");
    assertEquals(0, eval.code(), eval.err());
    assertTrue(eval.out().contains("agreement with float: "), eval.out());
    String[] lines = eval.out().strip().split("\\R");
    double top1 = Double.parseDouble(lines[lines.length - 1].replace("top1:", "").trim());
    assertTrue(top1 >= floatTop1 - 0.5, String.format(Locale.ROOT, "%s %d-bit: %.2f vs float %.2f", file, bits, top1, floatTop1));
  }

  @Test
  void badlyConditionedLayersAreNamedWithTheRemedy(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("imb");
    Run run = calibrate(Shared.model("resnet_s_imb.onnx").toString(), TRAIN, out, "--calib-size", "300",
        "--master", "local[2]");
    assertEquals(0, run.code(), run.err());
    assertTrue(run.err().contains("quantization error collapses at"), run.err());
    assertTrue(run.err().contains("cross-layer equalization"), run.err());
    String report = Files.readString(out.resolve("report.json"));
    assertTrue(report.contains("\"collapsed\": true"), report);
  }

  @Test
  void aWellConditionedModelIsNotFlagged(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("ok");
    Run run = calibrate(Run.sampleModel(), TRAIN, out, "--calib-size", "300", "--master", "local[2]");
    assertEquals(0, run.code(), run.err());
    assertFalse(run.err().contains("collapses"), run.err());
  }

  /** Layer by layer on a quantized prefix: decisions differ from one pass where the error matters. */
  @Test
  void sequentialModeQuantizesThePrefix(@TempDir Path dir) throws Exception {
    Path seq = dir.resolve("seq");
    Path once = dir.resolve("once");
    Run a = calibrate(Run.sampleModel(), Run.sampleImages(), seq, "--calib-size", "200", "--bits", "4", "--sequential",
        "--master", "local[2]");
    assertEquals(0, a.code(), a.err());
    Run b = calibrate(Run.sampleModel(), Run.sampleImages(), once, "--calib-size", "200", "--bits", "4", "--master", "local[2]");
    assertEquals(0, b.code(), b.err());
    String s = Files.readString(seq.resolve("quant_info.json"));
    String o = Files.readString(once.resolve("quant_info.json"));
    assertEquals(o.length() > 0, s.length() > 0);
    assertFalse(s.equals(o), "at 4 bits the quantized prefix moves some fix_point or statistic");
  }

  /** A folder qspark did not write is kept, --overwrite or not (docs/outputs.md). */
  @Test
  void existingOutputIsKeptWithoutOverwriteAndAForeignOneEvenWithIt(@TempDir Path dir) throws Exception {
    Path out = Files.createDirectory(dir.resolve("taken"));
    Files.writeString(out.resolve("mine.txt"), "keep");
    Run run = calibrate(Run.sampleModel(), Run.sampleImages(), out, "--calib-size", "50", "--master", "local[1]");
    assertEquals(2, run.code());
    assertTrue(run.err().contains("already exists"), run.err());
    assertEquals("keep", Files.readString(out.resolve("mine.txt")));
    Run again = calibrate(Run.sampleModel(), Run.sampleImages(), out, "--calib-size", "50", "--master", "local[1]",
        "--overwrite");
    assertEquals(2, again.code(), again.err());
    assertTrue(again.err().contains("was not written by qspark"), again.err());
    assertEquals("keep", Files.readString(out.resolve("mine.txt")));
    assertNoTemporaryFolders(dir);
  }

  @Test
  void emptyDataWritesNothing(@TempDir Path dir) throws Exception {
    Path empty = dir.resolve("empty-idx3-ubyte.gz");
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    try (DataOutputStream d = new DataOutputStream(new GZIPOutputStream(b))) {
      d.writeInt(0x00000803);
      d.writeInt(0);
      d.writeInt(28);
      d.writeInt(28);
    }
    Files.write(empty, b.toByteArray());
    Path out = dir.resolve("out");
    Run run = calibrate(Run.sampleModel(), empty.toString(), out, "--master", "local[1]");
    assertEquals(2, run.code(), run.err());
    assertFalse(Files.exists(out));
    assertNoTemporaryFolders(dir);
  }

  @Test
  void nanWeightsAreRefusedAndNothingIsWritten(@TempDir Path dir) throws Exception {
    var model = io.qspark.kernels.onnx.proto.OnnxProto.ModelProto.parseFrom(Files.readAllBytes(Path.of(Run.sampleModel())));
    var b = model.toBuilder();
    var g = b.getGraphBuilder();
    int idx = 0;
    while (g.getInitializer(idx).getDimsCount() != 4) idx++;
    var t = g.getInitializer(idx);
    byte[] raw = t.getRawData().toByteArray();
    java.nio.ByteBuffer.wrap(raw).order(java.nio.ByteOrder.LITTLE_ENDIAN).putFloat(0, Float.NaN);
    g.setInitializer(idx, t.toBuilder().setRawData(com.google.protobuf.ByteString.copyFrom(raw)));
    Path bad = Files.write(dir.resolve("nan.onnx"), b.build().toByteArray());
    Path out = dir.resolve("out");
    Run run = calibrate(bad.toString(), Run.sampleImages(), out, "--master", "local[1]");
    assertEquals(2, run.code(), run.err());
    assertTrue(run.err().contains("NaN") && run.err().contains(t.getName()), run.err());
    assertFalse(Files.exists(out));
    assertNoTemporaryFolders(dir);
  }

  @Test
  void shapeMismatchWritesNothing(@TempDir Path dir) {
    Path out = dir.resolve("out");
    Run run = calibrate(Run.sampleModel(), Run.sampleImages(), out, "--dims", "1,14,56", "--master", "local[1]");
    assertEquals(2, run.code(), run.err());
    assertFalse(Files.exists(out));
  }

  @Test
  void moreCalibrationImagesThanDataWarnsAndUsesAll(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("out");
    Run run = calibrate(Run.sampleModel(), Run.sampleImages(), out, "--calib-size", "5000", "--master", "local[2]");
    assertEquals(0, run.code(), run.err());
    assertTrue(run.err().contains("calibrating on all of them"), run.err());
    assertTrue(Files.readString(out.resolve("quant_info.json")).contains("\"calibration_images\": 1000"));
  }

  static void assertNoTemporaryFolders(Path dir) throws Exception {
    try (Stream<Path> s = Files.list(dir)) {
      assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".qspark-")), "temporary folders left");
    }
  }
}
