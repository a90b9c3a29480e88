package io.qspark.job.spark;

import io.qspark.job.base.UserError;
import io.qspark.job.data.DataSource;
import io.qspark.job.eval.InputBatches;
import io.qspark.job.eval.ScoringPlan;
import io.qspark.job.preprocess.LabeledImage;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Per-image outputs of a model over a data set (evaluate and simulate --predictions): a table
 * of the image's name, its label (null when unlabelled) and one array&lt;float&gt; column per
 * model output, named as the output, holding that image's item of it (row-major, the batch
 * dimension removed); for a quantized or simulated model also the float model's, in a column
 * {@code <output>_float} each. Computed in tasks in mini-batches, as the counting jobs are.
 */
public final class PredictionJob {
  /** The first columns of a predictions table, before the outputs. */
  public static final String NAME = "name", LABEL = "label";
  /** The suffix of the float model's column beside a quantized or simulated output's. */
  public static final String FLOAT_SUFFIX = "_float";

  private PredictionJob() {}

  /** The table's schema for these model outputs, without float columns. */
  public static StructType schema(List<String> outputs) {
    return schema(outputs, false);
  }

  /**
   * The table's schema for these model outputs, and with {@code withFloat} each one's float
   * column after them; an output named as another column is refused.
   */
  public static StructType schema(List<String> outputs, boolean withFloat) {
    List<String> taken = new ArrayList<>(List.of(NAME, LABEL));
    taken.addAll(outputs);
    if (withFloat) {
      for (String o : outputs) {
        if (taken.contains(o + FLOAT_SUFFIX)) {
          throw new UserError("the model's output '" + o + FLOAT_SUFFIX + "' has the name of the float column of output '" + o
              + "' in the predictions");
        }
      }
    }
    List<StructField> f = new ArrayList<>();
    f.add(DataTypes.createStructField(NAME, DataTypes.StringType, false));
    f.add(DataTypes.createStructField(LABEL, DataTypes.IntegerType, true));
    for (String o : outputs) {
      if (o.equals(NAME) || o.equals(LABEL)) {
        throw new UserError("the model's output '" + o + "' has the name of a predictions column (" + NAME + ", " + LABEL + ")");
      }
      f.add(DataTypes.createStructField(o, DataTypes.createArrayType(DataTypes.FloatType, false), false));
    }
    if (withFloat) {
      for (String o : outputs) {
        f.add(DataTypes.createStructField(o + FLOAT_SUFFIX, DataTypes.createArrayType(DataTypes.FloatType, false), false));
      }
    }
    return DataTypes.createStructType(f);
  }

  /**
   * The predictions, lazily: each action over the table runs the models again.
   *
   * @param reference the float model, whose outputs go beside a quantized or simulated {@code spec}'s; null: none
   */
  public static Dataset<Row> table(SparkSession spark, DataSource data, ModelOutputs.Spec spec, ModelOutputs.Spec reference,
      ScoringPlan plan, int partitions, List<String> outputs) {
    StructType schema = schema(outputs, reference != null);
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    JavaRDD<Row> rows = data.images(sc, partitions).mapPartitions(
        new PredictPartition(spec, reference, plan, List.copyOf(outputs)));
    return spark.createDataFrame(rows, schema);
  }

  /** Item {@code i} of a batch of {@code n} of one output, as its column holds it. */
  public static float[] item(Tensor output, int i, int n) {
    float[] v = output.isFloat() ? output.data() : output.asFloats();
    int per = v.length / n;
    return java.util.Arrays.copyOfRange(v, i * per, (i + 1) * per);
  }

  private record PredictPartition(ModelOutputs.Spec spec, ModelOutputs.Spec reference, ScoringPlan plan, List<String> outputs)
      implements FlatMapFunction<Iterator<LabeledImage>, Row> {
    @Override
    public Iterator<Row> call(Iterator<LabeledImage> images) {
      if (!images.hasNext()) return Collections.emptyIterator();
      ModelOutputs models = ModelOutputs.open(spec);
      ModelOutputs floats = reference == null ? null : ModelOutputs.open(reference);
      int columns = 2 + outputs.size() * (floats == null ? 1 : 2);
      InputBatches batches = new InputBatches(images, plan);
      return new BatchedRows<>(() -> {
        if (!batches.hasNext()) return null;
        InputBatches.Batch b = batches.next();
        Map<String, Tensor> y = models.run(b.feeds());
        Map<String, Tensor> f = floats == null ? null : floats.run(b.feeds());
        List<Row> rows = new ArrayList<>(b.size());
        for (int i = 0; i < b.size(); i++) {
          Object[] r = new Object[columns];
          r[0] = b.names()[i];
          r[1] = b.labels()[i] < 0 ? null : b.labels()[i];
          for (int k = 0; k < outputs.size(); k++) r[2 + k] = item(y.get(outputs.get(k)), i, b.size());
          for (int k = 0; f != null && k < outputs.size(); k++) {
            r[2 + outputs.size() + k] = item(f.get(outputs.get(k)), i, b.size());
          }
          rows.add(RowFactory.create(r));
        }
        return rows;
      });
    }
  }
}
