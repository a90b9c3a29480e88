package io.qspark.job.spark;

import io.qspark.job.base.UserError;
import io.qspark.job.data.DataSource;
import io.qspark.job.data.LabelMasks;
import io.qspark.job.eval.InputBatches;
import io.qspark.job.eval.ScoringPlan;
import io.qspark.job.eval.SegmentationCounts;
import io.qspark.job.preprocess.LabeledImage;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.SerializableConfiguration;

/**
 * Segmentation metrics over a data set (evaluate and simulate --metric miou): each task runs
 * its images through every given model (float, fake-quant or the integer simulator), takes the
 * argmax over the class axis of one [N, C, H, W] output and counts it against the image's label
 * mask; the driver merges the per-task confusion matrices with one treeAggregate (long counts:
 * the same for any partitioning).
 */
public final class SegmentationJob {
  private SegmentationJob() {}

  /** What is scored: which output, of how many classes, against which masks. */
  public record Target(String output, int classes, LabelMasks masks) implements java.io.Serializable {}

  /** One count matrix per model, in the order of {@code models}. */
  public static List<SegmentationCounts> run(JavaSparkContext sc, DataSource data, List<ModelOutputs.Spec> models,
      ScoringPlan plan, int partitions, Target target) {
    sc.setJobGroup("qspark", "miou (" + data.count() + " images)", false);
    Broadcast<SerializableConfiguration> conf = sc.broadcast(new SerializableConfiguration(sc.hadoopConfiguration()));
    try {
      List<SegmentationCounts> zero = new ArrayList<>();
      for (int i = 0; i < models.size(); i++) zero.add(SegmentationCounts.empty(target.classes()));
      return data.images(sc, partitions).mapPartitions(new CountPartition(List.copyOf(models), plan, target, conf))
          .treeAggregate(zero, SegmentationJob::plus, SegmentationJob::plus);
    } catch (Exception e) { // SparkException, undeclared from Scala
      throw EvaluationJob.translate(e);
    } finally {
      sc.clearJobGroup();
    }
  }

  private static List<SegmentationCounts> plus(List<SegmentationCounts> a, List<SegmentationCounts> b) {
    List<SegmentationCounts> r = new ArrayList<>(a.size());
    for (int i = 0; i < a.size(); i++) r.add(a.get(i).plus(b.get(i)));
    return r;
  }

  private record CountPartition(List<ModelOutputs.Spec> models, ScoringPlan plan, Target target,
      Broadcast<SerializableConfiguration> conf) implements FlatMapFunction<Iterator<LabeledImage>, List<SegmentationCounts>> {
    @Override
    public Iterator<List<SegmentationCounts>> call(Iterator<LabeledImage> images) {
      int classes = target.classes();
      List<SegmentationCounts.Builder> counts = new ArrayList<>();
      List<ModelOutputs> opened = new ArrayList<>();
      for (ModelOutputs.Spec s : models) {
        counts.add(new SegmentationCounts.Builder(classes));
        opened.add(images.hasNext() ? ModelOutputs.open(s) : null);
      }
      InputBatches batches = new InputBatches(images, plan);
      while (batches.hasNext()) {
        InputBatches.Batch b = batches.next();
        int[][] labels = null;
        for (int m = 0; m < opened.size(); m++) {
          Tensor y = opened.get(m).run(b.feeds()).get(target.output());
          int[] shape = y.shape();
          if (shape.length != 4 || shape[1] != classes) {
            throw new UserError("output '" + target.output() + "' is " + Tensor.shapeString(shape) + " for a batch; --metric"
                + " miou needs [N, " + classes + ", H, W]");
          }
          int h = shape[2], w = shape[3];
          if (labels == null) {
            labels = new int[b.size()][];
            for (int i = 0; i < b.size(); i++) labels[i] = target.masks().read(b.names()[i], h, w, classes, conf.value().value());
          }
          float[] v = y.isFloat() ? y.data() : y.asFloats();
          for (int i = 0; i < b.size(); i++) counts.get(m).add(v, i * classes * h * w, h * w, labels[i]);
        }
      }
      List<SegmentationCounts> out = new ArrayList<>();
      for (SegmentationCounts.Builder c : counts) out.add(c.build());
      return List.of(out).iterator();
    }
  }
}
