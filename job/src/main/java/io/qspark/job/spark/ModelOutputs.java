package io.qspark.job.spark;

import io.qspark.dpu.Simulator;
import io.qspark.job.model.LoadedModels;
import io.qspark.job.model.ModelBlob;
import io.qspark.kernels.tensor.Tensor;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Every output of a model for one input batch, in a task: the float model, the fake-quantized
 * model, or the deploy model in the bit-exact integer simulator (whose integers times
 * 2^-fix_point are exact in float, and equal the fake-quant model's outputs bit for bit where
 * every layer runs on the DPU). What tasks need besides the batch is broadcast once:
 * {@link #open} in a task gives the JVM's cached models.
 */
public final class ModelOutputs {
  /** Which model computes the outputs. */
  public enum Mode {
    FLOAT("float"), FAKEQUANT("fakequant"), INTEGER("integer");

    public final String key;

    Mode(String key) {
      this.key = key;
    }

    /** float, fakequant or integer. */
    public static Mode parse(String key) {
      for (Mode m : values()) if (m.key.equals(key.toLowerCase(Locale.ROOT))) return m;
      throw new IllegalArgumentException("mode must be float, fakequant or integer, got '" + key + "'");
    }
  }

  /**
   * What a task loads: the model (with its fix_points for FAKEQUANT and INTEGER) and, for
   * INTEGER, the deploy model compiled from them.
   */
  public record Spec(Mode mode, ModelBlob model, SimulationJob.Deployed deployed, String input) implements Serializable {
    public Spec {
      if (mode != Mode.FLOAT && model.quantInfo() == null) throw new IllegalArgumentException(mode.key + " needs fix_points");
      if (mode == Mode.INTEGER && deployed == null) throw new IllegalArgumentException("integer needs a deploy model");
    }
  }

  private final Spec spec;
  private final LoadedModels.Loaded loaded;
  private final Simulator simulator;

  private ModelOutputs(Spec spec, LoadedModels.Loaded loaded, Simulator simulator) {
    this.spec = spec;
    this.loaded = loaded;
    this.simulator = simulator;
  }

  /** In a task: the JVM's models for this spec, loaded once per executor. */
  public static ModelOutputs open(Spec spec) {
    LoadedModels.Loaded l = spec.mode() == Mode.INTEGER ? null : LoadedModels.get(spec.model());
    Simulator sim = spec.mode() == Mode.INTEGER ? SimulationJob.simulator(spec.deployed()) : null;
    return new ModelOutputs(spec, l, sim);
  }

  /** The outputs of one batch [n, ...], by output name in the model's order, as float values. */
  public Map<String, Tensor> run(Tensor batch) {
    Map<String, Tensor> feeds = Map.of(spec.input(), batch);
    return switch (spec.mode()) {
      case FLOAT -> loaded.executor().run(feeds);
      case FAKEQUANT -> loaded.quantized().run(loaded.quantizedExecutor(), feeds);
      case INTEGER -> {
        Map<String, Tensor> out = new LinkedHashMap<>();
        simulator.run(feeds).forEach((name, o) -> out.put(name, Tensor.of(o.dequantized(), o.shape())));
        yield out;
      }
    };
  }
}
