package io.qspark.job.eval;

import java.io.Serializable;

/**
 * What `simulate` counts per partition, merged exactly in any order: the simulator's top-1 and
 * its agreement with the float model (as {@link EvalCounts}), the fake-quant and float models'
 * correct counts, and how many output integers differ between simulator and fake-quant.
 */
public record SimulationCounts(EvalCounts eval, long fakeQuantTop1, long floatTop1, long mismatches, long outputs)
    implements Serializable {
  public static SimulationCounts empty(int classes) {
    return new SimulationCounts(EvalCounts.empty(classes), 0, 0, 0, 0);
  }

  public SimulationCounts plus(SimulationCounts o) {
    return new SimulationCounts(eval.plus(o.eval), fakeQuantTop1 + o.fakeQuantTop1, floatTop1 + o.floatTop1,
        mismatches + o.mismatches, outputs + o.outputs);
  }
}
