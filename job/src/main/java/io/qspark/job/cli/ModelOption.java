package io.qspark.job.cli;

import io.qspark.job.UserError;
import io.qspark.job.output.RunInputs;
import io.qspark.job.spark.ModelBlob;
import io.qspark.kernels.caffe.CaffeImporter;
import io.qspark.kernels.quant.QuantInfo;
import java.io.IOException;
import java.nio.file.Files;

import io.qspark.kernels.model.Model;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** --model, shared by every command that reads a float model. */
public final class ModelOption {
  @Option(names = "--model", required = true, paramLabel = "MODEL.onnx", order = 1,
      description = "The float model, ONNX (opset 7 to 18; external tensor data must lie in the model's"
          + " folder) or a Caffe deploy .prototxt (weights: the .caffemodel of the same name beside it, or"
          + " --weights), or a folder written by `qspark calibrate` to use its quantized model.")
  Path model;

  @Option(names = "--weights", paramLabel = "W.caffemodel", order = 2,
      description = "With a Caffe --model: its trained weights. Default: the .caffemodel beside the prototxt.")
  Path weights;

  private boolean caffe() {
    return CaffeImporter.isPrototxt(model) && !Files.isDirectory(model);
  }

  /** The caffemodel of a Caffe --model. */
  Path caffemodel() {
    return weights != null ? weights : CaffeImporter.weightsBeside(model);
  }

  /** The float ONNX file: --model itself, or the float_model.onnx of a calibration folder. */
  public Path path() {
    if (!Files.isDirectory(model)) return model;
    if (!Files.isRegularFile(model.resolve("quant_info.json"))) {
      throw new UserError(model + " is a folder without quant_info.json; --model takes an ONNX file or a"
          + " folder written by qspark calibrate");
    }
    return model.resolve("float_model.onnx");
  }

  /** quant_info.json of a calibration folder, or null for a float model. */
  public String quantInfo() {
    if (!Files.isDirectory(model)) return null;
    try {
      String json = Files.readString(model.resolve("quant_info.json"));
      QuantInfo.read(json); // fail here, on the driver, not in every task
      return json;
    } catch (IOException | IllegalArgumentException | ClassCastException | NullPointerException e) {
      throw new UserError(model.resolve("quant_info.json") + " is not a valid qspark quant_info.json: " + e.getMessage(), e);
    }
  }

  /** What the model option reads: the model (file, prototxt or calibration folder) and a Caffe model's weights. */
  public RunInputs inputs() {
    RunInputs r = RunInputs.none().with("--model", model);
    return caffe() ? r.with(weights != null ? "--weights" : "the weights", caffemodel()) : r;
  }

  /** Imports, folds constants and infers shapes; any problem is a one-line GraphException. */
  public Model load() {
    if (weights != null && !caffe()) throw new UserError("--weights is for a Caffe --model (a .prototxt)");
    return caffe() ? Model.loadCaffe(model, caffemodel()) : Model.load(path());
  }

  /** The model as executors receive it, quantized when --model is a calibration folder. */
  public ModelBlob blob() {
    ModelBlob b = caffe() ? ModelBlob.ofCaffe(model, caffemodel()) : ModelBlob.of(path());
    String info = quantInfo();
    return info == null ? b : b.quantized(info);
  }
}
