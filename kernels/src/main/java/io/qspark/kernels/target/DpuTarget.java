package io.qspark.kernels.target;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * A DPU as data: which op classes it runs and within which limits, read from a YAML file
 * ({@code conf/targets/*.yaml}, bundled in the jar, or any file). The partitioner judges a
 * graph against it; the deploy compiler checks bit widths against it.
 *
 * @param file where it was read from (error messages and reports cite it)
 * @param datapath its compute array: parallelism, weight banks, bit widths
 */
public record DpuTarget(String name, String description, String source, String file, Datapath datapath,
    Map<OpClass, OpLimits> ops) {

  /** The targets in the repository's conf/targets/, copied into the jar; a test keeps this list complete. */
  public static final List<String> BUNDLED = List.of("b4096", "generic-int8");
  static final String RESOURCE_DIR = "conf/targets/";

  public DpuTarget {
    java.util.Objects.requireNonNull(datapath, "datapath");
    ops = Collections.unmodifiableMap(ops.isEmpty() ? new EnumMap<>(OpClass.class) : new EnumMap<>(ops));
  }

  /**
   * A DPU's compute array.
   *
   * @param channelParallel input channels it multiplies at once (the YAML's channel_parallel)
   * @param bankDepth the depth of its weight banks (bank_depth): k_h k_w ceil(ic / channelParallel) must fit
   * @param bitWidths the widths of weights and activations it computes in; a narrower integer
   *     fits its datapath too (4-bit weights in an int8 multiplier)
   * @param biasBits the widest bias it adds into its accumulators
   */
  public record Datapath(int channelParallel, int bankDepth, List<Integer> bitWidths, int biasBits) {
    public Datapath {
      bitWidths = List.copyOf(bitWidths);
    }
  }

  public int channelParallel() {
    return datapath.channelParallel();
  }

  public int bankDepth() {
    return datapath.bankDepth();
  }

  public List<Integer> bitWidths() {
    return datapath.bitWidths();
  }

  public int biasBits() {
    return datapath.biasBits();
  }

  /** A bundled target by name (b4096, generic-int8), else a YAML file by path. */
  public static DpuTarget resolve(String nameOrPath) {
    if (BUNDLED.contains(nameOrPath)) return bundled(nameOrPath);
    Path p = Path.of(nameOrPath);
    if (Files.isRegularFile(p)) return load(p);
    throw new TargetException("unknown target '" + nameOrPath + "': neither a bundled target ("
        + String.join(", ", BUNDLED) + ") nor a YAML file");
  }

  public static DpuTarget bundled(String name) {
    String res = RESOURCE_DIR + name + ".yaml";
    try (InputStream in = DpuTarget.class.getClassLoader().getResourceAsStream(res)) {
      if (in == null) throw new TargetException("no bundled target '" + name + "' (" + res + " is not on the classpath)");
      return TargetFile.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), res);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static DpuTarget load(Path file) {
    String text;
    try {
      text = Files.readString(file);
    } catch (IOException e) {
      throw new TargetException("cannot read target file " + file + ": " + e.getMessage(), e);
    }
    return TargetFile.parse(text, file.toString());
  }

  /** Parses a description held in memory; {@code file} names it in errors. */
  public static DpuTarget parse(String yaml, String file) {
    return TargetFile.parse(yaml, file);
  }

  public boolean supports(OpClass c) {
    return ops.containsKey(c);
  }

  /** The limits of a class, or null when the target does not run it. */
  public OpLimits limits(OpClass c) {
    return ops.get(c);
  }

  public boolean supportsBits(int bits) {
    return datapath.bitWidths().contains(bits);
  }

  /** The widest weights and activations its datapath holds. */
  public int maxBits() {
    return java.util.Collections.max(datapath.bitWidths());
  }
}
