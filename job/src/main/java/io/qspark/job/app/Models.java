package io.qspark.job.app;

import io.qspark.job.base.UserError;
import io.qspark.job.data.ModelFiles;
import io.qspark.job.model.ModelBlob;
import io.qspark.job.output.CalibrationFolder;
import io.qspark.kernels.model.Model;

/** Reading the model a stage is given: a float model file, or (where a stage takes one) a calibration folder. */
final class Models {
  private Models() {}

  /**
   * A model as read: the driver's copy (imported, not yet prepared for inference), the blob
   * executors receive (quantized for a calibration folder), the file name quant_info.json
   * records, and the folder when it came from one.
   */
  record Read(Model model, ModelBlob blob, String fileName, CalibrationFolder folder) {}

  /** A float model file (ONNX or Caffe) on any file system; a calibration folder is refused. */
  static Read floatModel(ModelSettings s) {
    if (ModelFiles.isFolder(s.location())) {
      throw new UserError("--model is already a calibration folder; give the float model");
    }
    ModelFiles.Loaded l = ModelFiles.load(s.location(), s.weights());
    return new Read(l.model(), l.blob(), l.fileName(), null);
  }

  /** A float model file, or a calibration folder's float model with its fix_points. */
  static Read anyModel(ModelSettings s) {
    if (!ModelFiles.isFolder(s.location())) return floatModel(s);
    if (s.weights() != null) throw new UserError("--weights is for a Caffe --model (a .prototxt)");
    CalibrationFolder f = CalibrationFolder.open(s.location());
    return new Read(f.floatModel(), f.quantizedBlob(), f.shown(), f);
  }
}
