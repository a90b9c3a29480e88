package io.qspark.dpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.dpu.proto.DeployProto.DeployModel;
import io.qspark.kernels.quant.LayerRule;
import io.qspark.kernels.quant.QuantizedModel;
import io.qspark.kernels.target.DpuTarget;
import io.qspark.kernels.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Golden dumps: the files hold what the simulator computes at every layer, in the documented
 * byte layout; the fake-quant tensors at the same points quantize to the same integers; a dump
 * compared with itself agrees, and with one integer changed the comparison names that layer,
 * image and position.
 */
class GoldenDumpTest {
  @TempDir static Path dir;
  static ExcludedLayersTest.Calibrated c;
  static DeployModel dm;
  static Tensor images;
  static Path dump;
  static GoldenDump.Index index;

  /** The residual net with its fc kept in float at 16-bit activations (int16 files) and everything else at 8 bits. */
  @BeforeAll
  static void writeDump() {
    c = ExcludedLayersTest.Calibrated.of(ExcludedLayersTest.residual(), List.of(new LayerRule("fc", List.of(), 0, 16, 0, null, true)));
    dm = c.deploy(DpuTarget.bundled("b4096"));
    images = ExcludedLayersTest.random(new Random(11), 5, 4, 8, 8);
    dump = dir.resolve("a");
    index = GoldenDump.write(dm, new QuantizedModel(c.g(), c.plan(), c.params()), Map.of("x", images), List.of("a", "b", "c", "d", "e"), 3,
        sink(dump));
  }

  static GoldenDump.Sink sink(Path root) {
    return (path, bytes) -> {
      try {
        Path p = root.resolve(path);
        Files.createDirectories(p.getParent());
        Files.write(p, bytes);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    };
  }

  @Test
  void filesHoldEveryLayersIntegersInTheDocumentedLayout() throws IOException {
    assertEquals(dm.getLayersCount(), index.layers().size());
    assertEquals(3, index.units());
    assertEquals(List.of("a", "b", "c"), index.images());
    GoldenDump.Entry fc = index.layer("fc");
    assertEquals("int16", fc.dtype());
    assertEquals(List.of(1, 10), fc.shape());
    GoldenDump.Entry c2 = index.layer("c2");
    assertEquals("int8", c2.dtype());
    assertEquals(List.of(1, 8, 8, 8), c2.shape());
    assertEquals("image_00002_" + c2.file() + ".int8", c2.path(2));
    assertTrue(Files.isRegularFile(dump.resolve("image_00001_" + String.format("%03d", c2.index()) + "_c2.int8")));
    try (var files = Files.list(dump)) {
      assertTrue(files.allMatch(Files::isRegularFile), "one flat folder");
    }
    assertEquals(GoldenDump.readIndex(GoldenDump.folder(dump)), index, "dump.json reads back");

    // the simulator's own outputs for image 2, against the raw little-endian bytes
    int[] fcOut = new Simulator(dm).run(images.slice0(2, 3)).ints();
    byte[] raw = Files.readAllBytes(dump.resolve(fc.path(2)));
    assertEquals(20, raw.length);
    for (int i = 0; i < 10; i++) assertEquals(fcOut[i], (short) ((raw[2 * i] & 0xff) | (raw[2 * i + 1] << 8)), "value " + i);

    // fake-quant holds at every layer exactly the floats the integers stand for
    for (GoldenDump.Entry e : index.layers()) {
      if (!e.integer()) continue;
      for (int u = 0; u < 3; u++) {
        int[] q = GoldenDump.readInts(GoldenDump.folder(dump), e, u);
        byte[] f = Files.readAllBytes(dump.resolve(e.fakeQuantPath(u)));
        var fb = java.nio.ByteBuffer.wrap(f).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < q.length; i++) assertEquals((float) Math.scalb((double) q[i], -e.fixPoint()), fb.getFloat(), e.name());
      }
    }
  }

  /**
   * The fc kept in float: its 16-bit integers are the float Gemm (float weights) of the
   * dequantized Flatten integers, rounded once at the fc's fix_point, computed here by hand.
   */
  @Test
  void anExcludedLayerComputesInFloat() {
    GoldenDump.Source s = GoldenDump.folder(dump);
    GoldenDump.Entry flat = index.layer("flat"), fc = index.layer("fc");
    float[] w = c.g().initializers().get("fc.w").data(), b = c.g().initializers().get("fc.b").data();
    int exact = 0;
    for (int u = 0; u < 3; u++) {
      int[] x = GoldenDump.readInts(s, flat, u);
      int[] y = GoldenDump.readInts(s, fc, u);
      for (int o = 0; o < 10; o++) {
        float acc = 0;
        for (int i = 0; i < x.length; i++) acc += (float) Math.scalb((double) x[i], -flat.fixPoint()) * w[o * x.length + i];
        double expect = Math.floor((acc + b[o]) * Math.pow(2, fc.fixPoint()) + 0.5);
        // float summation order may differ from the executor's by an ulp, which can tip a rounding
        assertTrue(Math.abs(expect - y[o]) <= 1, "image " + u + " out " + o + ": " + expect + " vs " + y[o]);
        if (expect == y[o]) exact++;
      }
    }
    assertTrue(exact >= 27, exact + " of 30 exact");
  }

  @Test
  void aDumpAgreesWithItself() {
    DumpComparison cmp = DumpComparison.of(GoldenDump.folder(dump), GoldenDump.folder(dump));
    assertNull(cmp.firstDifference());
    assertEquals(3, cmp.units());
    assertTrue(cmp.report().contains("no difference"), cmp.report());
  }

  @Test
  void oneChangedIntegerIsNamedByLayerImageAndPosition() throws IOException {
    Path b = dir.resolve("b");
    copy(dump, b);
    GoldenDump.Entry c2 = index.layer("c2");
    // image 1, channel 3, row 5, column 2 of c2's [1, 8, 8, 8] output, raised by 3
    int pos = ((0 * 8 + 3) * 8 + 5) * 8 + 2;
    Path file = b.resolve(c2.path(1));
    byte[] bytes = Files.readAllBytes(file);
    int was = bytes[pos];
    bytes[pos] = (byte) (was + 3);
    Files.write(file, bytes);

    DumpComparison cmp = DumpComparison.of(GoldenDump.folder(dump), GoldenDump.folder(b));
    DumpComparison.Layer f = cmp.firstDifference();
    assertEquals("c2", f.entry().name());
    assertEquals(1, f.differing());
    assertEquals(3, f.largest());
    assertEquals(1, f.first().unit());
    assertArrayEquals(new int[] {0, 3, 5, 2}, f.first().coordinates());
    assertEquals(was, f.first().a());
    assertEquals(was + 3, f.first().b());
    assertEquals(1, cmp.layers().stream().filter(DumpComparison.Layer::differs).count(), "the later layers' files are unchanged");
    String report = cmp.report();
    assertTrue(report.contains("first differing layer: " + c2.index() + " 'c2' (CONV, int8 [1, 8, 8, 8])"), report);
    assertTrue(report.contains("1 of 1536 values differ, largest difference 3"), report);
    assertTrue(report.contains("first: image 1 at [0, 3, 5, 2] (A " + was + ", B " + (was + 3) + ")"), report);
  }

  @Test
  void dumpsOfAnotherModelOrLayoutAreRefusedInOneLine() throws IOException {
    Path one = dir.resolve("one"), other = dir.resolve("other");
    copy(dump, one);
    copy(dump, other);
    for (Path d : List.of(one, other)) {
      Path idx = d.resolve(GoldenDump.INDEX);
      Files.writeString(idx, Files.readString(idx).replace("\"model_sha256\": \"\"",
          "\"model_sha256\": \"" + (d == one ? "abc" : "def") + "\""));
    }
    String e = assertThrows(DumpException.class, () -> DumpComparison.of(GoldenDump.folder(one), GoldenDump.folder(other)))
        .getMessage();
    assertEquals("dumps of different models: " + one + " is of model sha256 abc, " + other + " of def", e);
    // a dump without a model's sha256 (a converted board dump may not know it) compares by its layers
    assertNull(DumpComparison.of(GoldenDump.folder(dump), GoldenDump.folder(other)).firstDifference());

    Path shortFile = dir.resolve("short");
    copy(dump, shortFile);
    GoldenDump.Entry c1 = index.layer("c1");
    Files.write(shortFile.resolve(c1.path(0)), new byte[7]);
    e = assertThrows(DumpException.class, () -> DumpComparison.of(GoldenDump.folder(dump), GoldenDump.folder(shortFile)))
        .getMessage();
    assertEquals(shortFile + "/" + c1.path(0) + ": 7 bytes, expected 512 (int8 [1, 8, 8, 8])", e);

    Path format = dir.resolve("format");
    copy(dump, format);
    Path fi = format.resolve(GoldenDump.INDEX);
    Files.writeString(fi, Files.readString(fi).replace(GoldenDump.FORMAT, "vitis-dump/3"));
    e = assertThrows(DumpException.class, () -> GoldenDump.readIndex(GoldenDump.folder(format))).getMessage();
    assertEquals(format + "/dump.json: format vitis-dump/3, expected qspark-golden-dump/1", e);

    e = assertThrows(DumpException.class, () -> GoldenDump.readIndex(GoldenDump.folder(dir.resolve("none")))).getMessage();
    assertEquals(dir.resolve("none") + ": no dump.json: not a qspark golden dump", e);
    assertFalse(e.contains("\n"));
  }

  static void copy(Path from, Path to) throws IOException {
    try (var files = Files.walk(from)) {
      for (Path p : files.toList()) {
        Path t = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) Files.createDirectories(t);
        else Files.copy(p, t);
      }
    }
  }
}
