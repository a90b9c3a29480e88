package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.io.Json;
import io.qspark.kernels.testing.Shared;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * `sensitivity` on resnet_s_imb at 8 bits (the sample's labelled test images): the points of the
 * layers whose quantization collapses (calibrate's warning names them, from the error pass of
 * the whole quantized model) rank first; and sensitivity.json is the same bytes on local[1] and
 * local[2] with 1, 3 and 8 partitions.
 */
@Tag("slow")
class SensitivitySparkTest {
  static final String MODEL = Shared.model("resnet_s_imb.onnx").toString();

  static List<String> args(String command, Path out, String... more) {
    List<String> a = new ArrayList<>(List.of(command, "--model", MODEL, "--data", Run.sampleImages(), "--mean", "72.94", "--std",
        "90.02", "--out", out.toString()));
    a.addAll(List.of(more));
    return a;
  }

  /**
   * The layer a tensor or node belongs to, as resnet_s names them: its first three path parts
   * ({@code /layers/layers.3/c1} for {@code /layers/layers.3/c1/c1.2/Relu_output_0} and for the
   * conv {@code /layers/layers.3/c1/c1.0/Conv}).
   */
  static String layer(String name) {
    String[] p = name.split("/");
    return p.length <= 4 ? name : String.join("/", p[0], p[1], p[2], p[3]);
  }

  @Test
  @Timeout(1200)
  @SuppressWarnings("unchecked")
  void theLayersWhoseQuantizationCollapsesRankFirst(@TempDir Path dir) throws Exception {
    Path cal = dir.resolve("calib"), sens = dir.resolve("sens");
    Run c = Run.of(args("calibrate", cal, "--calib-size", "500", "--master", "local[2]").toArray(String[]::new));
    assertEquals(0, c.code(), c.err());
    assertTrue(c.err().contains("quantization error collapses at"), c.err());
    Map<String, Object> report = (Map<String, Object>) Json.read(Files.readString(cal.resolve("report.json")));
    Set<String> collapsed = new LinkedHashSet<>();
    for (Object o : (List<Object>) report.get("layers")) {
      Map<String, Object> l = (Map<String, Object>) o;
      if (Boolean.TRUE.equals(l.get("collapsed"))) collapsed.add(layer((String) l.get("tensor")));
    }
    // the warning names tensors of most blocks (errors accumulate downstream), never the stem's or the first block's
    assertTrue(collapsed.size() >= 8, collapsed.toString());
    assertTrue(collapsed.stream().noneMatch(l -> l.startsWith("/stem") || l.startsWith("/layers/layers.0/")), collapsed.toString());

    Run s = Run.of(args("sensitivity", sens, "--calib-size", "500", "--master", "local[2]", "--variants", "only", "--rows", "10")
        .toArray(String[]::new));
    assertEquals(0, s.code(), s.err());
    Map<String, Object> json = (Map<String, Object>) Json.read(Files.readString(sens.resolve("sensitivity.json")));
    List<Map<String, Object>> points = (List<Map<String, Object>>) json.get("points");
    // one point per activation point and per layer's weights, as quant_info.json lists them
    Map<String, Object> info = (Map<String, Object>) Json.read(Files.readString(cal.resolve("quant_info.json")));
    long weights = ((List<Map<String, Object>>) info.get("params")).stream().filter(p -> "weight".equals(p.get("role"))).count();
    assertEquals(((List<Object>) info.get("activations")).size() + weights, points.size());
    // the ten most sensitive points, alone costing the most top-1, all lie in layers the warning names
    List<String> top = new ArrayList<>();
    for (Map<String, Object> p : points.subList(0, 10)) top.add(layer(p.get("node") != null ? (String) p.get("node") : (String) p.get("point")));
    assertTrue(collapsed.containsAll(top), "top 10 " + top + " vs collapsed " + collapsed + "\n" + s.out());
    double first = ((Number) ((Map<String, Object>) points.get(0).get("only_quantized")).get("top1_drop")).doubleValue();
    assertTrue(first >= 2, "the most sensitive point alone costs " + first + " points");
    // ranked: drops never increase down the list
    double prev = Double.POSITIVE_INFINITY;
    for (Map<String, Object> p : points) {
      double d = ((Number) ((Map<String, Object>) p.get("only_quantized")).get("top1_drop")).doubleValue();
      assertTrue(d <= prev, points.toString());
      prev = d;
    }
    // the console's table: ranked, 10 rows and a pointer to the rest
    assertTrue(s.out().contains("  1  " + points.get(0).get("node") + " (weights)") || s.out().contains("  1  " + points.get(0).get("point")),
        s.out());
    assertTrue(s.out().contains("(" + (points.size() - 10) + " more in sensitivity.csv)"), s.out());
    assertEquals(points.size() + 1, Files.readAllLines(sens.resolve("sensitivity.csv")).size());
  }

  @Test
  @Timeout(1800)
  void sensitivityJsonIsTheSameBytesForAnyPartitioning(@TempDir Path dir) throws Exception {
    byte[] first = null;
    for (String master : List.of("local[1]", "local[2]")) {
      for (String partitions : List.of("1", "3", "8")) {
        Path out = dir.resolve(master.replaceAll("\\W", "") + "-" + partitions);
        Run r = Run.of(args("sensitivity", out, "--calib-size", "96", "--master", master, "--partitions", partitions)
            .toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        byte[] b = Files.readAllBytes(out.resolve("sensitivity.json"));
        if (first == null) first = b;
        else assertEquals(new String(first, java.nio.charset.StandardCharsets.UTF_8), new String(b, java.nio.charset.StandardCharsets.UTF_8),
            master + " with " + partitions + " partitions");
      }
    }
  }
}
