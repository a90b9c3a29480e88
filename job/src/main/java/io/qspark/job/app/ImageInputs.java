package io.qspark.job.app;

import io.qspark.job.base.UserError;
import io.qspark.job.data.DataRequest;
import io.qspark.job.data.DataSource;
import io.qspark.job.data.DataSources;
import io.qspark.job.eval.ModelIo;
import io.qspark.job.eval.InputBatches;
import io.qspark.job.eval.ScoringPlan;
import io.qspark.job.model.ModelSignature;
import io.qspark.job.preprocess.ImageLayout;
import io.qspark.job.preprocess.InputPreprocessing;
import io.qspark.job.preprocess.LabeledImage;
import io.qspark.job.preprocess.PreprocessSettings;
import io.qspark.job.spark.FirstImages;
import io.qspark.job.spark.LazySpark;
import io.qspark.job.spark.SparkSettings;
import java.util.List;

/**
 * A data set opened for a model's inputs: the images (checked on the driver), the
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
      LazySpark spark, ModelSignature signature, ModelIo model, int batch) {
    PreprocessSettings.Effective eff = pre.resolve(recorded, recordedIn);
    DataRequest request = data.request(eff.geometry());
    DataSource images = DataSources.open(request, spark, signature);
    if (images.preprocessed()) {
      List<String> given = pre.given();
      if (!given.isEmpty()) {
        throw new UserError(data.location() + " holds model inputs, already preprocessed; " + String.join(", ", given)
            + (given.size() == 1 ? " does" : " do") + " not apply to them");
      }
      ScoringPlan plan = ScoringPlan.ofInputs(images.layout(), model, batch);
      return new ImageInputs(images, plan, InputPreprocessing.ofModelInputs(model.input(), model.imageShape()),
          eff, request);
    }
    ScoringPlan plan = ScoringPlan.of(eff.pixels(), images.layout(), model, batch);
    return new ImageInputs(images, plan,
        InputPreprocessing.ofPixels(model.input(), eff.geometry(), eff.pixels(), model.imageShape()), eff, request);
  }

  /**
   * What the data feeds a model of one image input, after the geometry given (resize, crop), as
   * the first image of an IDX file or image folder shows it; null for synthetic data and tables.
   * A model whose export left its image size dynamic is fixed to it when --input-shape is not given.
   */
  static ImageLayout dataImage(DataSettings data, PreprocessSettings pre) {
    PreprocessSettings.Effective eff = pre.resolve(null, null);
    return DataSources.imageLayout(data.first(1).request(eff.geometry()));
  }

  /** The steps applied, for reports: "mean 72.94, std 90.02, raw scale 255", or none for model inputs. */
  String steps() {
    return record.describe();
  }

  /** Partitions of this data set for the settings and the running Spark (the one rule every stage uses). */
  int partitions(SparkSettings settings, LazySpark spark) {
    return settings.partitionsFor(images.count(), plan.model().imageSize(), spark.runtime().context().defaultParallelism());
  }

  /**
   * Nothing given and nothing recorded: if the first inputs look unnormalized (raw pixels fed
   * to a model that wants normalized ones: a quiet top-1 near chance), say so, naming --mean/--std.
   */
  void warnIfUnnormalized(LazySpark spark, Notices notices) {
    if (effective.origin() != PreprocessSettings.Origin.DEFAULTS || images.preprocessed()) return;
    List<LabeledImage> first = FirstImages.take(spark.runtime().context(), images, FIRST);
    if (first.isEmpty()) return;
    InputBatches.Batch b = new InputBatches(first.iterator(), plan.withBatch(first.size())).next();
    // one warning for the model, from the first input that looks unnormalized
    b.feeds().values().stream().map(t -> PreprocessSettings.unnormalizedWarning(t.data(), t.size()))
        .flatMap(java.util.Optional::stream).findFirst().ifPresent(notices::warning);
  }
}
