package io.qspark.job.eval;

import io.qspark.kernels.quant.OutputFidelity;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What `simulate` counts per partition, merged exactly in any order: images; per output, how
 * many output values there are and how many differ between simulator and fake-quant model
 * (integers, or a CPU output's floats bit for bit); every simulated output's fidelity against
 * the float model; and for a classifier the simulator's top-1 and its agreement with the float
 * model (as {@link EvalCounts}) and the fake-quant and float models' correct counts.
 */
public record SimulationCounts(long images, Map<String, long[]> perOutput, OutputFidelity fidelity, EvalCounts eval,
    long fakeQuantTop1, long floatTop1) implements Serializable {
  public SimulationCounts {
    perOutput = new LinkedHashMap<>(perOutput);
  }

  public static SimulationCounts empty(int classes) {
    return new SimulationCounts(0, Map.of(), new OutputFidelity(), EvalCounts.empty(classes), 0, 0);
  }

  public SimulationCounts plus(SimulationCounts o) {
    Map<String, long[]> m = new LinkedHashMap<>();
    perOutput.forEach((k, v) -> m.put(k, v.clone()));
    o.perOutput.forEach((k, v) -> {
      long[] s = m.computeIfAbsent(k, x -> new long[2]);
      s[0] += v[0];
      s[1] += v[1];
    });
    OutputFidelity f = new OutputFidelity().merge(fidelity).merge(o.fidelity);
    return new SimulationCounts(images + o.images, m, f, eval.plus(o.eval), fakeQuantTop1 + o.fakeQuantTop1,
        floatTop1 + o.floatTop1);
  }

  /** Output values that differ from the fake-quant model's, over all outputs. */
  public long mismatches() {
    return perOutput.values().stream().mapToLong(v -> v[1]).sum();
  }

  /** Output values compared, over all outputs. */
  public long outputs() {
    return perOutput.values().stream().mapToLong(v -> v[0]).sum();
  }

  /** Mismatches per output, in the model's output order. */
  public Map<String, Long> mismatchesPerOutput() {
    Map<String, Long> m = new LinkedHashMap<>();
    perOutput.forEach((k, v) -> m.put(k, v[1]));
    return m;
  }
}
