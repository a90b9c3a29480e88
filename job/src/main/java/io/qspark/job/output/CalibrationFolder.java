package io.qspark.job.output;

import io.qspark.job.base.UserError;
import io.qspark.job.model.ModelBlob;
import io.qspark.job.preprocess.InputPreprocessing;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.QuantInfo;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A calibrated model (written by calibrate and finetune, and by qat as a {@link QatFolder}):
 * quant_info.json (every fix_point), float_model.onnx (the float graph they belong to),
 * quantize_eval_model.onnx (the QDQ model), report.json and report.html, and folder.json with
 * the preprocessing of its model inputs. Reads folders of every format since the first.
 */
public final class CalibrationFolder {
  static final String QUANT_INFO = "quant_info.json";
  static final String FLOAT_MODEL = "float_model.onnx";
  static final String QDQ_MODEL = "quantize_eval_model.onnx";

  /**
   * What a calibration folder holds.
   *
   * @param preprocessing how the calibration images became model inputs (null: not known)
   * @param command the command that wrote it (calibrate, finetune, qat)
   */
  public record Contents(String quantInfo, byte[] floatModel, byte[] qdqModel, InputPreprocessing preprocessing,
      String command, String reportJson, String reportTitle) {}

  /** A calibration folder being written; nothing appears until {@link #commit}. */
  public static final class Writer extends FolderWriter {
    Writer(String location, boolean overwrite, FolderKind kind, RunInputs inputs) {
      super(location, overwrite, kind, inputs);
    }

    /** Writes every file and puts the folder in place. */
    public void commit(Contents c) {
      write(this, c);
      commit(c.command(), c.preprocessing());
    }
  }

  /** Checks the target (before any work is spent; apart from the run's {@code inputs}) and opens the folder for writing. */
  public static Writer create(String location, boolean overwrite, RunInputs inputs) {
    return new Writer(location, overwrite, FolderKind.CALIBRATION, inputs);
  }

  static void write(FolderWriter w, Contents c) {
    writeModels(w, c);
    ReportFiles.write(w.folder, c.reportTitle(), c.reportJson(), c.quantInfo());
  }

  /** The model files alone (quant_info.json, the QDQ and float models). */
  static void writeModels(FolderWriter w, Contents c) {
    w.folder.write(QUANT_INFO, c.quantInfo());
    w.folder.write(QDQ_MODEL, c.qdqModel());
    w.folder.write(FLOAT_MODEL, c.floatModel());
  }

  private final JobFolder dir;
  private final FolderManifest manifest;
  private final String quantInfo;
  private final QuantInfo.Parsed parsed;

  private CalibrationFolder(JobFolder dir, FolderManifest manifest, String quantInfo, QuantInfo.Parsed parsed) {
    this.dir = dir;
    this.manifest = manifest;
    this.quantInfo = quantInfo;
    this.parsed = parsed;
  }

  /** A folder written by calibrate, finetune or qat, local or on any Hadoop file system. */
  public static CalibrationFolder open(String location) {
    JobFolder dir = JobFolder.open(location, "a calibration folder (written by qspark calibrate, finetune or qat)");
    List<String> missing = dir.missing(QUANT_INFO, FLOAT_MODEL);
    if (!missing.isEmpty()) {
      throw new UserError(dir.shown() + " is not a calibration folder: it has no " + String.join(" or ", missing)
          + " (folders written by qspark calibrate, finetune or qat have both)");
    }
    FolderManifest m = FolderManifest.read(dir, dir.isFile(QatFolder.HISTORY_JSON) ? FolderKind.QAT : FolderKind.CALIBRATION);
    if (m.kind() != FolderKind.CALIBRATION && m.kind() != FolderKind.QAT) {
      throw new UserError(dir.shown() + " is a " + m.kind().key + " folder, not a calibration folder");
    }
    String json = dir.readString(QUANT_INFO);
    return new CalibrationFolder(dir, m, json, parseQuantInfo(dir, json));
  }

  static QuantInfo.Parsed parseQuantInfo(JobFolder dir, String json) {
    try {
      return QuantInfo.read(json);
    } catch (IllegalArgumentException | ClassCastException | NullPointerException e) {
      throw new UserError(dir.shown() + "/" + QUANT_INFO + " is not a valid qspark quant_info.json: " + e.getMessage(), e);
    }
  }

  /** The folder as the user reads it (a local path, or a URI). */
  public String shown() {
    return dir.shown();
  }

  /** Where quant_info.json is, for messages and reports. */
  public String quantInfoShown() {
    return dir.shown() + "/" + QUANT_INFO;
  }

  public FolderManifest manifest() {
    return manifest;
  }

  /** quant_info.json's text, exactly as written. */
  public String quantInfoJson() {
    return quantInfo;
  }

  public QuantInfo.Parsed quantInfo() {
    return parsed;
  }

  /** float_model.onnx's bytes. */
  public byte[] floatModelBytes() {
    return dir.read(FLOAT_MODEL);
  }

  /** The float model the fix_points belong to, imported (as written: BatchNorm not yet folded). */
  public Model floatModel() {
    return dir.model(FLOAT_MODEL, floatModelBytes());
  }

  /** The model as executors run it: the float model with this calibration's fix_points. */
  public ModelBlob quantizedBlob() {
    return ModelBlob.of(dir.shown() + "/" + FLOAT_MODEL, floatModelBytes()).quantized(quantInfo);
  }

  /** How the calibration images became model inputs, when the folder records it. */
  public Optional<InputPreprocessing> preprocessing() {
    return manifest.recordedPreprocessing();
  }

  /** What the folder holds, read back (to be written elsewhere as it is). */
  public Contents contents() {
    String command = manifest.command() != null ? manifest.command() : "calibrate";
    return new Contents(quantInfo, floatModelBytes(), dir.isFile(QDQ_MODEL) ? dir.read(QDQ_MODEL) : new byte[0],
        preprocessing().orElse(null), command, ReportFiles.readText(dir).orElse("{}"), "qspark " + command + ": " + shown());
  }

  /** report.json, when the folder has one. */
  public Optional<Map<String, Object>> report() {
    return ReportFiles.read(dir);
  }
}
