package io.qspark.kernels.target;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Target files: the bundled ones load with the published figures, bad ones fail naming file and key. */
class DpuTargetTest {
  @TempDir Path dir;

  @Test
  void bundledListMatchesConfTargets() throws IOException {
    Path conf = Path.of(System.getProperty("user.dir")).resolve("../conf/targets");
    Set<String> files;
    try (Stream<Path> s = Files.list(conf)) {
      files = s.map(p -> p.getFileName().toString()).filter(f -> f.endsWith(".yaml"))
          .map(f -> f.substring(0, f.length() - 5)).collect(Collectors.toCollection(TreeSet::new));
    }
    assertEquals(files, new TreeSet<>(DpuTarget.BUNDLED), "DpuTarget.BUNDLED lists conf/targets/*.yaml");
    for (String name : DpuTarget.BUNDLED) {
      DpuTarget t = DpuTarget.resolve(name);
      assertEquals(name, t.name(), "the name key matches the file name");
      DpuTarget file = DpuTarget.load(conf.resolve(name + ".yaml"));
      assertEquals(file.ops(), t.ops(), "the jar's copy is the file");
      assertEquals(file.bitWidths(), t.bitWidths());
      assertEquals(file.biasBits(), t.biasBits());
      assertEquals("conf/targets/" + name + ".yaml", t.file());
    }
  }

  @Test
  void b4096HasUg1414Figures() {
    DpuTarget t = DpuTarget.resolve("b4096");
    assertEquals(16, t.channelParallel());
    assertEquals(2048, t.bankDepth());
    assertEquals(List.of(8, 6), t.bitWidths());
    assertTrue(t.supportsBits(6) && !t.supportsBits(4));
    assertEquals(8, t.maxBits());
    assertEquals(8, t.biasBits(), "8-bit biases: Vitis' shift_bias range is that of an 8-bit bias in a 24-bit accumulator");
    OpLimits conv = t.limits(OpClass.CONV);
    assertEquals(new OpLimits.Range(1, 16), conv.kernel());
    assertEquals(new OpLimits.Range(1, 8), conv.stride());
    assertEquals(256 * 16, conv.maxChannels());
    assertEquals(Set.of("relu", "relu6", "leaky_relu", "hard_sigmoid", "hard_swish"), conv.activations());
    assertFalse(conv.grouped());
    assertEquals(Set.of("relu", "relu6"), t.limits(OpClass.DEPTHWISE_CONV).activations());
    assertTrue(DpuTarget.resolve("generic-int8").limits(OpClass.CONV).grouped());
  }

  @Test
  void targetByPath() throws IOException {
    Path f = Files.writeString(dir.resolve("k8.yaml"), small(8));
    DpuTarget t = DpuTarget.resolve(f.toString());
    assertEquals("k8", t.name());
    assertEquals(8, t.limits(OpClass.CONV).kernel().max());
    assertEquals(f.toString(), t.file());
  }

  @Test
  void unknownTargetNamesTheBundledOnes() {
    TargetException e = assertThrows(TargetException.class, () -> DpuTarget.resolve("b9999"));
    assertEquals("unknown target 'b9999': neither a bundled target (b4096, generic-int8) nor a YAML file", e.getMessage());
  }

  @Test
  void everyProblemNamesFileAndKey() throws IOException {
    Path f = Files.writeString(dir.resolve("bad.yaml"), small(8)
        .replace("bank_depth: 2048", "bank_depth: -3\nchanel_parallel: 4")
        .replace("kernel: [1, 8]", "kernal: [1, 8]")
        .replace("stride: [1, 4]", "stride: [4, 1]")
        .replace("activations: [relu]", "activations: [relu, swish]")
        + "  softmax: {}\n");
    TargetException e = assertThrows(TargetException.class, () -> DpuTarget.load(f));
    String m = e.getMessage();
    assertTrue(m.startsWith(f + ": "), m);
    for (String part : List.of("unknown key 'chanel_parallel'", "bank_depth: expected a positive integer, got -3",
        "unknown key 'ops.conv.kernal' (known: activations, grouped, kernel, max_channels, stride)",
        "missing key 'ops.conv.kernel'", "ops.conv.stride: expected [min, max] with 1 <= min <= max, got [4,1]",
        "ops.conv.activations: unknown activation \"swish\"", "unknown key 'ops.softmax' (op classes: conv,")) {
      assertTrue(m.contains(part), "expected '" + part + "' in: " + m);
    }
    assertFalse(m.contains("\n"), "one line");
  }

  @Test
  void biasWidthDefaultsToTheWidestBitWidth() throws IOException {
    DpuTarget plain = DpuTarget.load(Files.writeString(dir.resolve("k8.yaml"), small(8).replace("[8]", "[6, 8]")));
    assertEquals(8, plain.biasBits());
    DpuTarget wide = DpuTarget.load(Files.writeString(dir.resolve("k9.yaml"), small(8) + "bias_bits: 16\n"));
    assertEquals(16, wide.biasBits());
    Path bad = Files.writeString(dir.resolve("bad.yaml"), small(8) + "bias_bits: 40\n");
    TargetException e = assertThrows(TargetException.class, () -> DpuTarget.load(bad));
    assertEquals(bad + ": bias_bits: expected an integer in [2, 32], got 40", e.getMessage());
  }

  @Test
  void notYamlAndDuplicateKeys() throws IOException {
    Path f = Files.writeString(dir.resolve("dup.yaml"), small(8) + "name: again\n");
    TargetException e = assertThrows(TargetException.class, () -> DpuTarget.load(f));
    assertTrue(e.getMessage().startsWith(f + ": not valid YAML: Duplicate field 'name'"), e.getMessage());
    Path g = Files.writeString(dir.resolve("list.yaml"), "- 1\n- 2\n");
    e = assertThrows(TargetException.class, () -> DpuTarget.load(g));
    assertEquals(g + ": expected a mapping of target keys, got array", e.getMessage());
  }

  /** A minimal target: conv up to k x k, pooling, eltwise add, reshapes. */
  static String small(int k) {
    return "name: k" + k + "\n"
        + "channel_parallel: 16\n"
        + "bank_depth: 2048\n"
        + "bit_widths: [8]\n"
        + "ops:\n"
        + "  conv:\n"
        + "    kernel: [1, " + k + "]\n"
        + "    stride: [1, 4]\n"
        + "    max_channels: 4096\n"
        + "    activations: [relu]\n"
        + "  fully_connected: {max_channels: 4096}\n"
        + "  average_pool: {kernel: [1, 8], stride: [1, 8], square: true}\n"
        + "  eltwise_add: {max_inputs: 2, max_channels: 4096, activations: [relu]}\n"
        + "  reshape: {}\n";
  }
}
