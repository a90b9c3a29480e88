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
 * the deploy model, the fake-quant model and the float model, and counts top-1, agreement with
 * float and output integers that differ from fake-quant; the driver merges with treeAggregate.
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
      int classes = plan.classifier().classes();
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
      int classes = plan.classifier().classes();
      long[] seen = new long[classes], top1 = new long[classes];
      long top5 = 0, agree = 0, fqTop1 = 0, flTop1 = 0, mismatches = 0, outputs = 0;
      InputBatches batches = new InputBatches(images, plan);
      while (batches.hasNext()) {
        InputBatches.Batch b = batches.next();
        Simulator.Output o = sim.run(b.input());
        float[] fq = l.forward().apply(b.input()).data();
        float[] fl = l.executor().run(b.input()).data();
        FixPoint q = new FixPoint(sim.model().getValuesList().stream().filter(v -> v.getName().equals(o.name()))
            .findFirst().orElseThrow().getBits(), o.fixPoint(), Rounding.HALF_UP);
        int[] ints = o.ints();
        float[] y = o.dequantized();
        for (int i = 0; i < ints.length; i++) if (q.quantize(fq[i]) != ints[i]) mismatches++;
        outputs += ints.length;
        for (int i = 0; i < b.size(); i++) {
          int label = b.labels()[i];
          if (label < 0 || label >= classes) {
            throw new UserError(b.names()[i] + " has label " + label + " but the model has " + classes + " classes");
          }
          int best = ArgMax.of(y, i * classes, classes);
          seen[label]++;
          if (best == label) top1[label]++;
          if (rank(y, i * classes, classes, label) < 5) top5++;
          int floatBest = ArgMax.of(fl, i * classes, classes);
          if (best == floatBest) agree++;
          if (floatBest == label) flTop1++;
          if (ArgMax.of(fq, i * classes, classes) == label) fqTop1++;
        }
      }
      SimulationCounts c = new SimulationCounts(new EvalCounts(seen, top1, top5, agree), fqTop1, flTop1, mismatches, outputs);
      done.add(c.eval().images());
      return List.of(c).iterator();
    }
  }

  private static int rank(float[] y, int off, int n, int label) {
    float s = y[off + label];
    int r = 0;
    for (int c = 0; c < n; c++) if (y[off + c] > s || (y[off + c] == s && c < label)) r++;
    return r;
  }
}
