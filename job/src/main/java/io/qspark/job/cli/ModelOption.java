package io.qspark.job.cli;

import io.qspark.job.app.ModelSettings;
import io.qspark.job.data.ModelFiles;
import io.qspark.job.output.CalibrationFolder;
import io.qspark.kernels.model.Model;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** --model, shared by every command that reads a float model. */
public final class ModelOption {
  @Spec(Spec.Target.MIXEE) CommandSpec spec;

  // Strings, not Paths: hdfs://nn/x would lose a slash as a java.nio Path
  @Option(names = "--model", required = true, paramLabel = "MODEL.onnx", order = 1,
      description = "The float model, ONNX (opset 7 to 18; external tensor data must lie in the model's"
          + " folder) or a Caffe deploy .prototxt (weights: the .caffemodel of the same name beside it, or"
          + " --weights), or a folder written by `qspark calibrate` to use its quantized model. Local or on any"
          + " Hadoop file system (hdfs://, s3a://, ...), as --data.")
  String model;

  @Option(names = "--weights", paramLabel = "W.caffemodel", order = 2,
      description = "With a Caffe --model: its trained weights. Default: the .caffemodel beside the prototxt.")
  String weights;

  public ModelSettings settings() {
    return Mapping.settings(spec, () -> new ModelSettings(model, weights));
  }

  /** The model as inspect shows it: the file, or a calibration folder's float model. */
  Model load() {
    if (ModelFiles.isFolder(model)) {
      if (weights != null) throw new io.qspark.job.base.UserError("--weights is for a Caffe --model (a .prototxt)");
      return CalibrationFolder.open(model).floatModel();
    }
    return ModelFiles.load(model, weights).model();
  }
}
