package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.qspark.kernels.io.Json;
import io.qspark.kernels.testing.RealWorld;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * evaluate and simulate --metric miou on the torchvision segmenter (lraspp_mobilenet_v3_large,
 * [N,3,128,128] -> out [N,10,128,128]) with a folder of images and PNG label masks the test
 * writes: the float mIoU equals the one counted here from ONNX Runtime's logits, the printed
 * figures equal the ones counted here from the --predictions Parquet (read back with Spark: one
 * row per image, C*H*W values in the simulated and the float column), simulate finds no
 * mismatches; bad masks are one-line errors with nothing written.
 */
@Tag("slow")
class SegmentationMetricTest {
  static final int N = 4, C = 10, H = 128, W = 128;
  static final float MEAN = 127.5f, STD = 64f;
  static final String[] PRE = {"--mean", "127.5", "--std", "64"};

  @Test
  @Timeout(value = 30, unit = TimeUnit.MINUTES)
  void lraspp(@TempDir Path dir) throws Exception {
    String model = RealWorld.model("lraspp_mobilenet_v3_large.onnx").toString();
    Path images = Files.createDirectories(dir.resolve("images"));
    Path masks = Files.createDirectories(dir.resolve("masks"));
    Random rnd = new Random(17);
    Map<String, byte[]> pixels = new HashMap<>();
    for (int i = 0; i < N; i++) {
      String stem = "img" + i;
      byte[] p = new byte[3 * H * W];
      BufferedImage im = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
      for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
          int[] rgb = {(x * 2 + i * 40) & 255, (y * 2 + rnd.nextInt(64)) & 255, ((x + y) * (i + 1) + rnd.nextInt(32)) & 255};
          for (int c = 0; c < 3; c++) p[c * H * W + y * W + x] = (byte) rgb[c];
          im.setRGB(x, y, rgb[0] << 16 | rgb[1] << 8 | rgb[2]);
        }
      }
      ImageIO.write(im, "png", images.resolve(stem + ".png").toFile());
      pixels.put(stem, p);
    }
    // the float model's per-pixel classes, by ONNX Runtime
    Map<String, int[]> ortArgmax = new HashMap<>();
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession s = env.createSession(model, new OrtSession.SessionOptions())) {
      for (Map.Entry<String, byte[]> e : pixels.entrySet()) {
        float[] v = new float[3 * H * W];
        for (int j = 0; j < v.length; j++) v[j] = ((e.getValue()[j] & 0xff) - MEAN) / STD;
        try (OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(v), new long[] {1, 3, H, W});
            OrtSession.Result r = s.run(Map.of("input", t))) {
          float[][][] out = ((float[][][][]) r.get("out").get().getValue())[0];
          float[] flat = new float[C * H * W];
          for (int c = 0; c < C; c++) for (int y = 0; y < H; y++) for (int x = 0; x < W; x++) flat[c * H * W + y * W + x] = out[c][y][x];
          ortArgmax.put(e.getKey(), argmax(flat));
        }
      }
    }
    // masks: the float prediction in some blocks, stripes of other classes elsewhere, every 7th pixel ignored;
    // even images as 8-bit gray, odd ones as palette PNGs
    Map<String, int[]> labels = new HashMap<>();
    for (int i = 0; i < N; i++) {
      String stem = "img" + i;
      int[] l = new int[H * W];
      int[] pred = ortArgmax.get(stem);
      for (int p = 0; p < l.length; p++) {
        int y = p / W, x = p % W;
        l[p] = p % 7 == 0 ? 255 : (y / 32 + x / 32 + i) % 3 != 0 ? pred[p] : (y / 16 + i) % C;
      }
      labels.put(stem, l);
      writeMask(masks.resolve(stem + ".png"), l, H, W, i % 2 == 1);
    }
    double expectedFloat = miou(ortArgmax, labels);

    // evaluate, float model: mIoU as counted from ONNX Runtime; and exactly as counted from its own predictions
    Path evalPred = dir.resolve("eval-pred");
    Run e = Run.of(args("evaluate", "--model", model, "--data", images.toString(), "--metric", "miou", "--labels",
        masks.toString(), "--predictions", evalPred.toString(), "--master", "local[2]"));
    assertEquals(0, e.code(), e.err());
    List<String> el = e.out().lines().toList();
    double printedFloat = value(el.get(el.size() - 1), "miou: ");
    // qspark's float forward and ONNX Runtime's differ in rounding (~1e-6): a pixel at a near-tie may flip
    assertEquals(100 * expectedFloat, printedFloat, 0.02, e.out());

    // exact counts: the same table and figure over 3 partitions
    Run e3 = Run.of(args("evaluate", "--model", model, "--data", images.toString(), "--metric", "miou", "--labels",
        masks.toString(), "--master", "local[2]", "--partitions", "3"));
    assertEquals(0, e3.code(), e3.err());
    assertEquals(e.out().substring(e.out().indexOf("IoU of output")), e3.out().substring(e3.out().indexOf("IoU of output")));

    // calibrate, deploy, simulate with the metric and predictions and a report
    Path cal = dir.resolve("calib"), dep = dir.resolve("deploy"), simPred = dir.resolve("sim-pred"), simOut = dir.resolve("sim");
    Run c = Run.of(args("calibrate", "--model", model, "--data", images.toString(), "--calib-size", "4", "--out",
        cal.toString(), "--master", "local[2]"));
    assertEquals(0, c.code(), c.err());
    Run d = Run.of("deploy", "--calib", cal.toString(), "--target", "b4096", "--out", dep.toString());
    assertEquals(0, d.code(), d.err());
    Run s = Run.of("simulate", "--deploy", dep.toString(), "--data", images.toString(), "--metric", "miou", "--labels",
        masks.toString(), "--predictions", simPred.toString(), "--out", simOut.toString(), "--master", "local[2]");
    assertEquals(0, s.code(), s.err());
    List<String> sl = s.out().lines().toList();
    assertEquals("mismatches: 0", sl.get(sl.size() - 1), s.out());
    double simFloat = line(sl, "float miou: "), simulated = line(sl, "miou: ");
    assertEquals(printedFloat, simFloat, 1e-9, s.out());

    @SuppressWarnings("unchecked")
    Map<String, Object> seg = (Map<String, Object>) ((Map<String, Object>) ((Map<String, Object>) Json.read(
        Files.readString(simOut.resolve("report.json")))).get("simulation")).get("segmentation");
    assertEquals("out", seg.get("output"));
    assertEquals(simulated, ((Number) ((Map<?, ?>) seg.get("simulated")).get("miou")).doubleValue(), 0.005);
    assertEquals(C, ((List<?>) ((Map<?, ?>) seg.get("simulated")).get("iou_per_class")).size());
    // report.html as a browser shows it: both mIoUs as report.json has them, one row per class
    String dom = HeadlessChromium.dom(simOut.resolve("report.html"), dir.resolve("chromium-profile"));
    assertTrue(ReportHtmlTest.RENDERED.matcher(dom).find(), "the page's script did not finish:\n" + dom);
    double floatMiou = ((Number) ((Map<?, ?>) seg.get("float")).get("miou")).doubleValue();
    double simMiou = ((Number) ((Map<?, ?>) seg.get("simulated")).get("miou")).doubleValue();
    assertTrue(dom.contains("id=\"seg-float-miou\">" + String.format(java.util.Locale.ROOT, "%.2f", floatMiou) + "%<"), dom);
    assertTrue(dom.contains("id=\"seg-miou\">" + String.format(java.util.Locale.ROOT, "%.2f", simMiou) + "%<"), dom);
    String table = dom.substring(dom.indexOf("id=\"segmentation-table\""));
    table = table.substring(0, table.indexOf("</table>"));
    assertEquals(C + 1, table.split("<tr", -1).length - 1, "a header and a row per class:\n" + table);

    // the Parquet tables, read back with Spark: one row per image, C*H*W values per column; figures recounted here
    SparkSession spark = SparkSession.builder().master("local[2]").appName("miou test").config("spark.ui.enabled", "false")
        .getOrCreate();
    try {
      List<Row> sim = spark.read().parquet(simPred.toString()).select("name", "out", "out_float").collectAsList();
      List<Row> ev = spark.read().parquet(evalPred.toString()).select("name", "out").collectAsList();
      assertEquals(N, sim.size());
      assertEquals(N, ev.size());
      Map<String, int[]> simArgmax = new HashMap<>(), simFloatArgmax = new HashMap<>(), evArgmax = new HashMap<>();
      for (Row r : sim) {
        String stem = stem(r.getString(0));
        assertEquals(C * H * W, r.getList(1).size());
        assertEquals(C * H * W, r.getList(2).size());
        simArgmax.put(stem, argmax(floats(r.getList(1))));
        simFloatArgmax.put(stem, argmax(floats(r.getList(2))));
      }
      for (Row r : ev) evArgmax.put(stem(r.getString(0)), argmax(floats(r.getList(1))));
      assertEquals(labels.keySet(), simArgmax.keySet());
      assertEquals(pct(miou(evArgmax, labels)), pct(printedFloat / 100), e.out());
      assertEquals(pct(miou(simFloatArgmax, labels)), pct(simFloat / 100), s.out());
      assertEquals(pct(miou(simArgmax, labels)), pct(simulated / 100), s.out());
    } finally {
      spark.stop();
    }

    // bad input: one line, exit 2, nothing written
    Path noMask = Files.createDirectories(dir.resolve("masks-missing"));
    Files.copy(masks.resolve("img0.png"), noMask.resolve("img0.png"));
    oneLineError(dir.resolve("p1"), "no label mask for image " + images.resolve("img1.png"), "evaluate", "--model", model,
        "--data", images.toString(), "--metric", "miou", "--labels", noMask.toString());
    Path small = Files.createDirectories(dir.resolve("masks-small"));
    writeMask(small.resolve("img0.png"), new int[64 * 64], 64, 64, false);
    oneLineError(dir.resolve("p2"), "is 64x64 (HxW) but the model's output", "evaluate", "--model", model, "--data",
        images.toString(), "--limit", "1", "--metric", "miou", "--labels", small.toString());
    Path badClass = Files.createDirectories(dir.resolve("masks-class"));
    int[] eleven = new int[H * W];
    eleven[5] = 11;
    writeMask(badClass.resolve("img0.png"), eleven, H, W, false);
    oneLineError(dir.resolve("p3"), "has class 11 at row 0, column 5", "simulate", "--deploy", dep.toString(), "--data",
        images.toString(), "--limit", "1", "--metric", "miou", "--labels", badClass.toString());
    oneLineError(dir.resolve("p4"), "--metric miou needs --labels", "evaluate", "--model", model, "--data", images.toString(),
        "--metric", "miou");
  }

  /** The command with --predictions DIR fails with one line containing {@code expected}; DIR does not appear. */
  static void oneLineError(Path predictions, String expected, String... command) {
    List<String> a = new ArrayList<>(List.of(args(command)));
    a.addAll(List.of("--predictions", predictions.toString(), "--master", "local[2]"));
    Run r = Run.of(a.toArray(new String[0]));
    List<String> errors = r.errorLines().stream().filter(l -> !l.contains(" WARN ") && !l.contains(" INFO ")).toList();
    assertAll(String.join(" ", a),
        () -> assertEquals(2, r.code(), r.err()),
        () -> assertEquals(1, errors.size(), r.err()),
        () -> assertTrue(errors.get(0).startsWith("qspark: error: ") && errors.get(0).contains(expected), r.err()),
        () -> assertFalse(r.err().contains("\tat "), "no stack trace"),
        () -> assertFalse(Files.exists(predictions), "nothing written"));
  }

  static String[] args(String... command) {
    List<String> a = new ArrayList<>(List.of(command));
    if (!command[0].equals("simulate")) a.addAll(List.of(PRE));
    return a.toArray(new String[0]);
  }

  static void writeMask(Path file, int[] l, int h, int w, boolean palette) throws Exception {
    BufferedImage m;
    if (palette) {
      byte[] r = new byte[256], g = new byte[256], b = new byte[256];
      for (int k = 0; k < 256; k++) {
        r[k] = (byte) (k * 37);
        g[k] = (byte) (k * 91);
        b[k] = (byte) (255 - k);
      }
      m = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_INDEXED, new IndexColorModel(8, 256, r, g, b));
    } else {
      m = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
    }
    m.getRaster().setSamples(0, 0, w, h, 0, l);
    ImageIO.write(m, "png", file.toFile());
  }

  /** Per pixel the first class of the largest score, of a [C, H, W] item. */
  static int[] argmax(float[] v) {
    int[] a = new int[H * W];
    for (int p = 0; p < a.length; p++) {
      int best = 0;
      for (int c = 1; c < C; c++) if (v[c * H * W + p] > v[best * H * W + p]) best = c;
      a[p] = best;
    }
    return a;
  }

  /** Mean over the classes present of intersection / union, pixels labelled 255 left out, counted image by image. */
  static double miou(Map<String, int[]> predicted, Map<String, int[]> labels) {
    long[] inter = new long[C], union = new long[C];
    for (Map.Entry<String, int[]> e : labels.entrySet()) {
      int[] p = predicted.get(e.getKey()), l = e.getValue();
      for (int k = 0; k < l.length; k++) {
        if (l[k] == 255) continue;
        for (int c = 0; c < C; c++) {
          boolean inL = l[k] == c, inP = p[k] == c;
          if (inL && inP) inter[c]++;
          if (inL || inP) union[c]++;
        }
      }
    }
    double sum = 0;
    int n = 0;
    for (int c = 0; c < C; c++) {
      if (union[c] > 0) {
        sum += (double) inter[c] / union[c];
        n++;
      }
    }
    return sum / n;
  }

  static String pct(double fraction) {
    return String.format(Locale.ROOT, "%.2f", 100 * fraction);
  }

  static double value(String line, String prefix) {
    assertTrue(line.startsWith(prefix), line);
    return Double.parseDouble(line.substring(prefix.length()));
  }

  static double line(List<String> lines, String prefix) {
    return value(lines.stream().filter(l -> l.startsWith(prefix)).findFirst().orElse(prefix + "missing"), prefix);
  }

  static String stem(String name) {
    String last = name.substring(name.lastIndexOf('/') + 1);
    return last.substring(0, last.lastIndexOf('.'));
  }

  static float[] floats(List<Object> l) {
    float[] f = new float[l.size()];
    for (int i = 0; i < f.length; i++) f[i] = ((Number) l.get(i)).floatValue();
    return f;
  }
}
