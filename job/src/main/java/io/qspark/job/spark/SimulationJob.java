package io.qspark.job.spark;

import io.qspark.job.model.LoadedModels;
import io.qspark.job.model.ModelBlob;
import io.qspark.dpu.DeployFormat;
import io.qspark.dpu.Simulator;
import io.qspark.job.data.DataSource;
import io.qspark.job.preprocess.LabeledImage;
import io.qspark.job.eval.EvalCounts;
import io.qspark.job.eval.InputBatches;
import io.qspark.job.eval.ScoringPlan;
import io.qspark.job.eval.SimulationCounts;
import io.qspark.job.eval.ModelIo;
import io.qspark.kernels.quant.OutputFidelity;
import io.qspark.job.base.UserError;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.Rounding;
import io.qspark.kernels.tensor.ArgMax;
import io.qspark.kernels.tensor.Tensor;
import java.io.Serializable;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.LongAccumulator;

/**
 * The integer simulator over a data set, checked as it goes: each task runs every batch through
 * the deploy model, the fake-quant model and the float model, and counts, for every output, the
 * values that differ from fake-quant and the simulated output's fidelity against float, and for
 * a classifier top-1 and agreement with float; the driver merges with treeAggregate.
 */
public final class SimulationJob {
  private static final long PROGRESS_INTERVAL_MS = 10_000;

  private SimulationJob() {}

  /** The deploy model's bytes, broadcast with the calibrated model they were compiled from. */
  public record Deployed(byte[] deployModel, String sha256) implements Serializable {}

  public static SimulationCounts run(JavaSparkContext sc, DataSource data, ModelBlob model, Deployed deployed,
      ScoringPlan plan, int partitions) {
    LongAccumulator done = sc.sc().longAccumulator("qspark.images");
    ProgressLog progress = new ProgressLog("simulate", done, data.count(), PROGRESS_INTERVAL_MS);
    // names the stage in the Spark UI and in event logs
    sc.setJobGroup("qspark", "simulate" + " (" + data.count() + " images)", false);
    sc.sc().addSparkListener(progress);
    Broadcast<ModelBlob> blob = sc.broadcast(model);
    Broadcast<Deployed> dep = sc.broadcast(deployed);
    try {
      JavaRDD<LabeledImage> images = data.images(sc, partitions);
      int classes = plan.model().classes();
      SimulationCounts counts = images.mapPartitions(new SimulatePartition(blob, dep, plan, done))
          .treeAggregate(SimulationCounts.empty(classes), SimulationCounts::plus, SimulationCounts::plus);
      blob.destroy();
      dep.destroy();
      return counts;
    } catch (Exception e) {
      throw EvaluationJob.translate(e);
    } finally {
      sc.sc().removeSparkListener(progress);
      sc.clearJobGroup();
    }
  }

  /** One simulator per deploy model per executor JVM (it holds no per-call state). */
  private static final Map<String, Simulator> SIMULATORS = new LinkedHashMap<>(4, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Simulator> eldest) {
      return size() > 4;
    }
  };

  static synchronized Simulator simulator(Deployed d) {
    // not computeIfAbsent with an eviction inside: a HashMap changed by its own mapping function
    // throws ConcurrentModificationException (the fifth deploy model a JVM simulated failed)
    return SIMULATORS.computeIfAbsent(d.sha256(),
        k -> new Simulator(DeployFormat.parse(d.deployModel(), "deploy model " + k.substring(0, 12))));
  }

  private static final class SimulatePartition implements FlatMapFunction<Iterator<LabeledImage>, SimulationCounts> {
    private static final long serialVersionUID = 1L;
    private final Broadcast<ModelBlob> model;
    private final Broadcast<Deployed> deployed;
    private final ScoringPlan plan;
    private final LongAccumulator done;

    SimulatePartition(Broadcast<ModelBlob> model, Broadcast<Deployed> deployed, ScoringPlan plan, LongAccumulator done) {
      this.model = model;
      this.deployed = deployed;
      this.plan = plan;
      this.done = done;
    }

    @Override
    public Iterator<SimulationCounts> call(Iterator<LabeledImage> images) {
      LoadedModels.Loaded l = LoadedModels.get(model.value());
      Simulator sim = simulator(deployed.value());
      ModelIo io = plan.model();
      int classes = io.classes();
      long[] seen = new long[classes], top1 = new long[classes];
      long top5 = 0, agree = 0, fqTop1 = 0, flTop1 = 0, count = 0;
      Map<String, long[]> perOutput = new LinkedHashMap<>();
      OutputFidelity fidelity = new OutputFidelity();
      InputBatches batches = new InputBatches(images, plan);
      while (batches.hasNext()) {
        InputBatches.Batch b = batches.next();
        Map<String, Simulator.Output> simulated = sim.run(b.feeds());
        Map<String, Tensor> fakeQuant = l.quantized().run(l.quantizedExecutor(), b.feeds());
        Map<String, Tensor> floats = l.executor().run(b.feeds());
        for (String name : io.outputs()) {
          Simulator.Output o = simulated.get(name);
          float[] fq = fakeQuant.get(name).data();
          long[] c = perOutput.computeIfAbsent(name, k -> new long[2]);
          c[0] += fq.length;
          c[1] += mismatches(sim, o, fq);
          fidelity.add(name, floats.get(name).data(), o.dequantized());
        }
        count += b.size();
        if (classes == 0) continue;
        String out = io.outputs().get(0);
        float[] y = simulated.get(out).dequantized(), fl = floats.get(out).data(), fq = fakeQuant.get(out).data();
        for (int i = 0; i < b.size(); i++) {
          int label = b.labels()[i];
          int best = ArgMax.of(y, i * classes, classes);
          int floatBest = ArgMax.of(fl, i * classes, classes);
          if (best == floatBest) agree++;
          if (label < 0) continue; // unlabelled: agreement only
          if (label >= classes) {
            throw new UserError(b.names()[i] + " has label " + label + " but the model has " + classes + " classes");
          }
          seen[label]++;
          if (best == label) top1[label]++;
          if (rank(y, i * classes, classes, label) < 5) top5++;
          if (floatBest == label) flTop1++;
          if (ArgMax.of(fq, i * classes, classes) == label) fqTop1++;
        }
      }
      SimulationCounts c = new SimulationCounts(count, perOutput, fidelity, new EvalCounts(seen, top1, top5, agree), fqTop1, flTop1);
      done.add(count);
      return List.of(c).iterator();
    }
  }

  /**
   * Values of one output where the simulator differs from the fake-quant model: integers against
   * the fake-quant value quantized at the output's fix_point (exact: the fake-quant value is a
   * multiple of its step), or a CPU output's floats bit for bit.
   */
  private static long mismatches(Simulator sim, Simulator.Output o, float[] fq) {
    long n = 0;
    if (o.ints() == null) {
      float[] y = o.floats();
      for (int i = 0; i < y.length; i++) if (Float.floatToIntBits(y[i]) != Float.floatToIntBits(fq[i])) n++;
      return n;
    }
    FixPoint q = new FixPoint(sim.model().getValuesList().stream().filter(v -> v.getName().equals(o.name()))
        .findFirst().orElseThrow().getBits(), o.fixPoint(), Rounding.HALF_UP);
    int[] ints = o.ints();
    if (ints.length != fq.length) return Math.max(ints.length, fq.length);
    for (int i = 0; i < ints.length; i++) if (q.quantize(fq[i]) != ints[i]) n++;
    return n;
  }

  private static int rank(float[] y, int off, int n, int label) {
    float s = y[off + label];
    int r = 0;
    for (int c = 0; c < n; c++) if (y[off + c] > s || (y[off + c] == s && c < label)) r++;
    return r;
  }
}
