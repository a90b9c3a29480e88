package io.qspark.job.spark;

import io.qspark.job.data.DataSource;
import io.qspark.job.eval.InputBatches;
import io.qspark.job.eval.ScoringPlan;
import io.qspark.job.model.LoadedModels;
import io.qspark.job.model.ModelBlob;
import io.qspark.kernels.quant.OutputFidelity;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.train.OutputMoments;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * The passes QAT by distillation adds, each a buffer per partition merged exactly by
 * treeAggregate ({@link CalibrationJob#pass}), so neither depends on the partitioning: the float
 * model's output moments (the distillation loss's per-output variances) and a trained model's
 * outputs against the float model's (its per-output fidelity; unlike calibration's error pass,
 * which compares a folder's model with its own float graph, the reference here is the model
 * before training).
 */
public final class DistillationJob {
  private DistillationJob() {}

  /** Every output's exact moments under the float model in {@code floatBlob}. */
  public static OutputMoments moments(JavaSparkContext sc, DataSource data, ModelBlob floatBlob, ScoringPlan plan,
      int partitions) {
    return CalibrationJob.pass(sc, "qat: output variances", data, partitions, done -> {
      Broadcast<ModelBlob> blob = sc.broadcast(floatBlob);
      return new CalibrationJob.JobPass<>(blob, done, images -> {
        LoadedModels.Loaded l = LoadedModels.get(blob.value());
        OutputMoments m = new OutputMoments();
        InputBatches batches = new InputBatches(images, plan);
        while (batches.hasNext()) {
          InputBatches.Batch b = batches.next();
          Map<String, Tensor> out = l.executor().run(b.feeds());
          for (String o : l.model().graph().outputs()) m.add(o, out.get(o).data());
          done.add(b.size());
        }
        return m;
      });
    }, new OutputMoments(), OutputMoments::merge);
  }

  /**
   * Every output of the fake-quant model in {@code quantized} against the float model in
   * {@code floatBlob} (the same inputs and output names).
   */
  public static OutputFidelity fidelity(JavaSparkContext sc, DataSource data, ModelBlob floatBlob, ModelBlob quantized,
      ScoringPlan plan, int partitions, String stage) {
    return CalibrationJob.paired(sc, stage, data, partitions, floatBlob, quantized, plan, OutputFidelity::new, (fid, f, z, b) -> {
      Map<String, Tensor> fo = f.executor().run(b.feeds()), zo = z.outputs(b.feeds());
      for (String o : f.model().graph().outputs()) fid.add(o, fo.get(o).data(), zo.get(o).data());
    }, new OutputFidelity(), OutputFidelity::merge);
  }
}
