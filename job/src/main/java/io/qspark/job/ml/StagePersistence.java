package io.qspark.job.ml;

import io.qspark.job.output.SparkStageFolder;
import io.qspark.kernels.io.Json;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.param.Params;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsReader$;
import org.apache.spark.ml.util.DefaultParamsWriter$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWriter;
import org.json4s.JInt;
import org.json4s.JObject;
import org.json4s.JValue;
import scala.Option;
import scala.Tuple2;
import scala.jdk.javaapi.CollectionConverters;

/**
 * How qspark's stages save and load with Spark's persistence: Spark's own metadata (class,
 * uid, Params as JSON, under metadata/), which records qspark's stage format
 * ({@link SparkStageFolder#VERSION}) beside them, and for a model its folders. Loading checks
 * the format first, so a stage saved by a newer qspark is an IllegalArgumentException naming
 * the folder, not a half-read stage.
 */
final class StagePersistence {
  /** The key of the format in the metadata's JSON. */
  static final String FORMAT_KEY = "qsparkStageFormat";

  private StagePersistence() {}

  static void saveMetadata(Params stage, String path, MLWriter writer) {
    List<Tuple2<String, JValue>> fields = List.of(new Tuple2<>(FORMAT_KEY, new JInt(scala.math.BigInt.apply(SparkStageFolder.VERSION))));
    JObject extra = new JObject(CollectionConverters.asScala(fields).toList());
    DefaultParamsWriter$.MODULE$.saveMetadata(stage, path, writer.sparkSession(), Option.apply(extra), Option.empty());
  }

  /** Spark's metadata of the stage at {@code path}, after checking the format qspark recorded in it. */
  static DefaultParamsReader.Metadata loadMetadata(String path, MLReader<?> reader, Class<?> expected) {
    DefaultParamsReader.Metadata m = DefaultParamsReader$.MODULE$.loadMetadata(path, reader.sparkSession(), expected.getName());
    Object format = ((Map<?, ?>) Json.read(m.metadataJson())).get(FORMAT_KEY);
    if (!(format instanceof Number n)) {
      throw new IllegalArgumentException(path + " has no qspark stage format in its metadata; not saved by qspark");
    }
    SparkStageFolder.requireVersion(n.intValue(), path);
    return m;
  }

  /** Writes a stage that is its Params alone (the Estimator). */
  static final class ParamsWriter extends MLWriter {
    private final Params stage;

    ParamsWriter(Params stage) {
      this.stage = stage;
    }

    @Override
    public void saveImpl(String path) {
      saveMetadata(stage, path, this);
    }
  }

  /** Loads a stage that is its Params alone: made with its uid, its Params set as saved. */
  static final class ParamsReader<T extends Params> extends MLReader<T> {
    private final Class<T> type;

    ParamsReader(Class<T> type) {
      this.type = type;
    }

    @Override
    public T load(String path) {
      DefaultParamsReader.Metadata m = loadMetadata(path, this, type);
      T stage;
      try {
        stage = type.getConstructor(String.class).newInstance(m.uid());
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException(e);
      }
      m.getAndSetParams(stage, Option.empty());
      return stage;
    }
  }
}
