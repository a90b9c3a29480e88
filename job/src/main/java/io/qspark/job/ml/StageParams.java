package io.qspark.job.ml;

import io.qspark.job.spark.ModelOutputs;
import java.io.Serializable;
import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.Identifiable;

/**
 * The Params the Estimator and the Model both have, made once here so that both spell them
 * alike (Spark copies a fitted Estimator's values onto its Model by name), and the validator
 * helper the others use.
 */
final class StageParams {
  static final String DEFAULT_IMAGE_COL = "image";
  static final int DEFAULT_BATCH = 64;
  static final String DEFAULT_MODE = ModelOutputs.Mode.FAKEQUANT.key;

  private StageParams() {}

  static Param<String> imageCol(Identifiable owner) {
    return new Param<>(owner, "imageCol", "The column of images: the struct of Spark's image data source"
        + " (spark.read.format(\"image\")), encoded PNG/JPEG bytes (binary), or model inputs already preprocessed"
        + " (array<float|double>, C*H*W values). Not empty. Default: " + DEFAULT_IMAGE_COL + ".",
        valid((String s) -> s != null && !s.isBlank()));
  }

  static IntParam batchSize(Identifiable owner) {
    return new IntParam(owner, "batchSize", "At most this many images per forward pass within a task, and fewer when"
        + " their activations would exceed 64 MiB (224x224 models). At least 1. Default: " + DEFAULT_BATCH + ".",
        ParamValidators.gtEq(1));
  }

  static Param<String> mode(Identifiable owner) {
    return new Param<>(owner, "mode", "Which model the Transformer's output columns come from: float (the float model),"
        + " fakequant (the float model with the calibrated fix_points) or integer (the deploy model in the bit-exact"
        + " integer simulator; its integers times 2^-fix_point, exact). Default: " + DEFAULT_MODE + ".",
        ParamValidators.inArray(Arrays.stream(ModelOutputs.Mode.values()).map(m -> m.key).toList()));
  }

  static Param<String> outputColPrefix(Identifiable owner) {
    return new Param<>(owner, "outputColPrefix", "The Transformer appends one array<float> column per model output,"
        + " named this prefix and the output's name, holding the row's item of the output (row-major)."
        + " Default: no prefix.", valid((String s) -> s != null));
  }

  /** A Param validator from a predicate (serializable, as Params travel with the stage). */
  static <T> scala.Function1<T, Object> valid(SerializablePredicate<T> p) {
    return new Valid<>(p);
  }

  interface SerializablePredicate<T> extends Predicate<T>, Serializable {}

  private static final class Valid<T> extends scala.runtime.AbstractFunction1<T, Object> implements Serializable {
    private static final long serialVersionUID = 1L;
    private final SerializablePredicate<T> p;

    Valid(SerializablePredicate<T> p) {
      this.p = p;
    }

    @Override
    public Object apply(T v) {
      return p.test(v);
    }
  }

  static List<Double> list(double[] v) {
    return Arrays.stream(v).boxed().toList();
  }
}
