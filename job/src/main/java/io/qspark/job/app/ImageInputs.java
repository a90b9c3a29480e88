package io.qspark.job.app;

import io.qspark.job.base.UserError;
import io.qspark.job.data.DataRequest;
import io.qspark.job.data.DataSource;
import io.qspark.job.data.DataSources;
import io.qspark.job.eval.Classifier;
import io.qspark.job.eval.InputBatches;
import io.qspark.job.eval.ScoringPlan;
import io.qspark.job.model.ModelSignature;
import io.qspark.job.preprocess.InputPreprocessing;
import io.qspark.job.preprocess.LabeledImage;
import io.qspark.job.preprocess.PreprocessSettings;
import io.qspark.job.spark.FirstImages;
import io.qspark.job.spark.LazySpark;
import io.qspark.job.spark.SparkSettings;
import java.util.List;

/**
 * A data set opened for a model's image input: the images (checked on the driver), the
 * preprocessing that makes them inputs (given, else recorded by the folder read, else the
 * defaults) and its record for the folder written, and the plan tasks score them with.
 */
final class ImageInputs {
  /** Images whose inputs the unnormalized-input check looks at. */
  static final int FIRST = 16;

  final DataSource images;
  final ScoringPlan plan;
  /** What a folder written from these inputs records. */
  final InputPreprocessing record;
  final PreprocessSettings.Effective effective;
  final DataRequest request;

  private ImageInputs(DataSource images, ScoringPlan plan, InputPreprocessing record, PreprocessSettings.Effective effective,
      DataRequest request) {
    this.images = images;
    this.plan = plan;
    this.record = record;
    this.effective = effective;
    this.request = request;
  }

  /**
   * @param recorded the preprocessing recorded by the folder the model comes from, or null
   * @param recordedIn that folder, for messages
   */
  static ImageInputs open(DataSettings data, PreprocessSettings pre, InputPreprocessing recorded, String recordedIn,
      LazySpark spark, ModelSignature signature, Classifier classifier, int batch) {
    PreprocessSettings.Effective eff = pre.resolve(recorded, recordedIn);
    DataRequest request = data.request(eff.geometry());
    DataSource images = DataSources.open(request, spark, signature);
    if (images.preprocessed()) {
      List<String> given = pre.given();
      if (!given.isEmpty()) {
        throw new UserError(data.location() + " holds model inputs, already preprocessed; " + String.join(", ", given)
            + (given.size() == 1 ? " does" : " do") + " not apply to them");
      }
      ScoringPlan plan = ScoringPlan.ofInputs(images.layout(), classifier, batch);
      return new ImageInputs(images, plan, InputPreprocessing.ofModelInputs(classifier.input(), classifier.imageShape()),
          eff, request);
    }
    ScoringPlan plan = ScoringPlan.of(eff.pixels(), images.layout(), classifier, batch);
    return new ImageInputs(images, plan,
        InputPreprocessing.ofPixels(classifier.input(), eff.geometry(), eff.pixels(), classifier.imageShape()), eff, request);
  }

  /** The steps applied, for reports: "mean 72.94, std 90.02, raw scale 255", or none for model inputs. */
  String steps() {
    return record.describe();
  }

  /** Partitions of this data set for the settings and the running Spark (the one rule every stage uses). */
  int partitions(SparkSettings settings, LazySpark spark) {
    return settings.partitionsFor(images.count(), plan.classifier().imageSize(), spark.runtime().context().defaultParallelism());
  }

  /**
   * Nothing given and nothing recorded: if the first inputs look unnormalized (raw pixels fed
   * to a model that wants normalized ones: a quiet top-1 near chance), say so, naming --mean/--std.
   */
  void warnIfUnnormalized(LazySpark spark, Notices notices) {
    if (effective.origin() != PreprocessSettings.Origin.DEFAULTS || images.preprocessed()) return;
    List<LabeledImage> first = FirstImages.take(spark.runtime().context(), images, FIRST);
    if (first.isEmpty()) return;
    ScoringPlan p = new ScoringPlan(plan.preprocessing(), plan.layout(), plan.classifier(), first.size());
    float[] x = new InputBatches(first.iterator(), p).next().input().data();
    PreprocessSettings.unnormalizedWarning(x, x.length).ifPresent(notices::warning);
  }
}
