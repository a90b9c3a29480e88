package io.qspark.job.app;

import io.qspark.job.base.UserError;
import io.qspark.job.data.ModelFiles;
import io.qspark.job.model.EditedModel;
import io.qspark.job.model.ModelBlob;
import io.qspark.job.output.CalibrationFolder;
import io.qspark.job.preprocess.ImageLayout;
import io.qspark.kernels.graph.ValueInfo;
import io.qspark.kernels.model.Model;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

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
    return floatModel(s, null, null);
  }

  /**
   * The same; a model of one image input whose export left its channels, height or width
   * dynamic, given no --input-shape, is fixed to the images the data feeds ({@code data}, after
   * resize and crop), as Vitis AI's {@code input_shapes} would be given by hand, and
   * {@code notices} says so. Synthetic data and tables have no size of their own: such a model
   * then needs --input-shape, and the error says so.
   */
  static Read floatModel(ModelSettings s, Supplier<ImageLayout> data, Notices notices) {
    if (ModelFiles.isFolder(s.location())) {
      throw new UserError("--model is already a calibration folder; give the float model");
    }
    ModelFiles.Loaded l = ModelFiles.load(s.location(), s.weights());
    Map<String, int[]> shapes = s.inputShapes();
    if (shapes.isEmpty() && data != null) shapes = fromData(l.model(), data, notices);
    if (shapes.isEmpty()) return new Read(l.model(), l.blob(), l.fileName(), null);
    // the dynamic dimensions fixed, and the model as executors and the folders written hold it:
    // its inference graph with the shapes folded in, as ONNX
    Model fixed;
    try {
      fixed = l.model().withInputShapes(shapes).forInference();
    } catch (io.qspark.kernels.graph.GraphException e) {
      throw new UserError(e.getMessage(), e);
    }
    EditedModel e = EditedModel.of(fixed.graph(), l.fileName());
    return new Read(e.model(), e.blob(), l.fileName(), null);
  }

  /** A lone [N, C, H, W] input's dynamic dimensions from the data's image; none where that does not apply. */
  private static Map<String, int[]> fromData(Model m, Supplier<ImageLayout> data, Notices notices) {
    List<ValueInfo> dynamic = m.dynamicInputs();
    if (dynamic.size() != 1 || m.graph().inputs().size() != 1 || dynamic.get(0).shape().length != 4) return Map.of();
    ImageLayout img = data.get();
    if (img == null) return Map.of();
    ValueInfo in = dynamic.get(0);
    int[] s = in.shape();
    int[] dims = {s[1] > 0 ? s[1] : img.channels(), s[2] > 0 ? s[2] : img.height(), s[3] > 0 ? s[3] : img.width()};
    if (notices != null) {
      StringBuilder as = new StringBuilder("[N");
      for (int d = 1; d < s.length; d++) as.append(',').append(s[d] > 0 ? Integer.toString(s[d]) : "?");
      notices.warning("input '" + in.name() + "' is exported as " + as + "]; fixed to " + dims[0] + "," + dims[1] + ","
          + dims[2] + " from the data's images (--input-shape " + in.name() + "=C,H,W to choose)");
    }
    return Map.of(in.name(), dims);
  }

  /** A float model file, or a calibration folder's float model with its fix_points. */
  static Read anyModel(ModelSettings s) {
    return anyModel(s, null, null);
  }

  /** The same, a float model's dynamic image size taken from the data as {@link #floatModel(ModelSettings, Supplier, Notices)} does. */
  static Read anyModel(ModelSettings s, Supplier<ImageLayout> data, Notices notices) {
    if (!ModelFiles.isFolder(s.location())) return floatModel(s, data, notices);
    if (s.weights() != null) throw new UserError("--weights is for a Caffe --model (a .prototxt)");
    if (!s.inputShapes().isEmpty()) {
      throw new UserError("--input-shape is for a float --model; a calibration folder holds its model with the shapes fixed");
    }
    CalibrationFolder f = CalibrationFolder.open(s.location());
    return new Read(f.floatModel(), f.quantizedBlob(), f.shown(), f);
  }
}
