package io.qspark.kernels.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.qspark.kernels.simd.VectorWidth;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A cluster mixes AVX2 and AVX-512 machines, and a result must not depend on which one computed
 * it: the SIMD kernels run in JVMs held to 256-bit vectors (one with the CPU held to AVX2, as
 * an AVX2 machine runs them) and forced to 512-bit ones, and every output of {@link WidthProbe}
 * must be the same bits in all of them and in this JVM.
 */
class VectorWidthTest {
  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void kernelsGiveTheSameBitsAtEveryVectorWidth() throws Exception {
    Map<String, String> here = WidthProbe.digests();
    Map<String, List<String>> runs = new LinkedHashMap<>();
    runs.put("256", List.of("-Dqspark.simd.bits=256"));
    runs.put("avx2", List.of("-XX:UseAVX=2"));
    runs.put("512", List.of("-Dqspark.simd.bits=512"));
    for (Map.Entry<String, List<String>> run : runs.entrySet()) {
      List<String> lines = probe(run.getValue());
      int bits = Integer.parseInt(lines.get(0).substring("bits ".length()));
      assertEquals(run.getKey().equals("512") ? 512 : 256, bits, "width chosen with " + run.getValue());
      Map<String, String> there = new LinkedHashMap<>();
      for (String l : lines.subList(1, lines.size())) {
        int sp = l.lastIndexOf(' ');
        there.put(l.substring(0, sp), l.substring(sp + 1));
      }
      assertEquals(new ArrayList<>(here.keySet()), new ArrayList<>(there.keySet()), "cases");
      for (String k : here.keySet()) {
        assertEquals(here.get(k), there.get(k), k + ": " + bits + "-bit JVM (" + run.getValue() + ") against "
            + VectorWidth.bits() + "-bit here");
      }
    }
  }

  private static List<String> probe(List<String> flags) throws IOException, InterruptedException {
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:+IgnoreUnrecognizedVMOptions", "--add-modules=jdk.incubator.vector", "-Xmx1g"));
    cmd.addAll(flags);
    cmd.addAll(List.of("-cp", cp, WidthProbe.class.getName()));
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), "probe " + flags + " failed: " + out);
    return List.of(out.strip().split("\n"));
  }
}
