package io.qspark.job.output;

import io.qspark.dpu.DeployException;
import io.qspark.dpu.DeployFormat;
import io.qspark.dpu.proto.DeployProto.DeployModel;
import io.qspark.job.base.UserError;
import io.qspark.job.model.ModelBlob;
import io.qspark.job.preprocess.InputPreprocessing;
import io.qspark.kernels.model.Model;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An integer deploy model (written by deploy): deploy_model.pb (format in dpu-sim/README.md),
 * deploy_model.txt (per-layer fix_points and shifts), the calibration it was compiled from
 * (float_model.onnx and quant_info.json, which simulate compares with), report.json and
 * report.html, and folder.json carrying the calibration's preprocessing. Reads folders of every
 * format since the first.
 */
public final class DeployFolder {
  static final String DEPLOY_MODEL = DeployFormat.FILE;
  static final String DEPLOY_TEXT = "deploy_model.txt";

  /** What a deploy folder holds besides the calibration it copies. */
  public record Contents(byte[] deployModel, String deployText, String reportJson, String reportTitle) {}

  /** A deploy folder being written; nothing appears until {@link #commit}. */
  public static final class Writer extends FolderWriter {
    Writer(String location, boolean overwrite, RunInputs inputs) {
      super(location, overwrite, FolderKind.DEPLOY, inputs);
    }

    /** Writes the deploy model and the calibration's float model and fix_points, and puts the folder in place. */
    public void commit(Contents c, CalibrationFolder from, byte[] floatModel) {
      folder.write(DEPLOY_MODEL, c.deployModel());
      folder.write(DEPLOY_TEXT, c.deployText());
      folder.write(CalibrationFolder.FLOAT_MODEL, floatModel);
      folder.write(CalibrationFolder.QUANT_INFO, from.quantInfoJson());
      ReportFiles.write(folder, c.reportTitle(), c.reportJson(), from.quantInfoJson());
      commit("deploy", from.preprocessing().orElse(null));
    }
  }

  /** Checks the target (before any work is spent; apart from the run's {@code inputs}) and opens the folder for writing. */
  public static Writer create(String location, boolean overwrite, RunInputs inputs) {
    return new Writer(location, overwrite, inputs);
  }

  private final JobFolder dir;
  private final FolderManifest manifest;
  private final byte[] deployModel;
  private final DeployModel parsed;
  private final String quantInfo;

  private DeployFolder(JobFolder dir, FolderManifest manifest, byte[] deployModel, DeployModel parsed, String quantInfo) {
    this.dir = dir;
    this.manifest = manifest;
    this.deployModel = deployModel;
    this.parsed = parsed;
    this.quantInfo = quantInfo;
  }

  /** A folder written by deploy, local or on any Hadoop file system; the deploy model and fix_points are checked. */
  public static DeployFolder open(String location) {
    JobFolder dir = JobFolder.open(location, "a deploy folder (written by qspark deploy)");
    List<String> missing = dir.missing(DEPLOY_MODEL, CalibrationFolder.FLOAT_MODEL, CalibrationFolder.QUANT_INFO);
    if (!missing.isEmpty()) {
      throw new UserError(dir.shown() + " is not a deploy folder (no " + String.join(", ", missing) + ")");
    }
    FolderManifest m = FolderManifest.read(dir, FolderKind.DEPLOY);
    if (m.kind() != FolderKind.DEPLOY) throw new UserError(dir.shown() + " is a " + m.kind().key + " folder, not a deploy folder");
    byte[] bytes = dir.read(DEPLOY_MODEL);
    DeployModel dm;
    try {
      dm = DeployFormat.parse(bytes, dir.shown() + "/" + DEPLOY_MODEL);
    } catch (DeployException e) {
      throw new UserError(e.getMessage(), e);
    }
    String json = dir.readString(CalibrationFolder.QUANT_INFO);
    CalibrationFolder.parseQuantInfo(dir, json);
    return new DeployFolder(dir, m, bytes, dm, json);
  }

  public String shown() {
    return dir.shown();
  }

  /** Where deploy_model.pb is, for messages and reports. */
  public String deployModelShown() {
    return dir.shown() + "/" + DEPLOY_MODEL;
  }

  public FolderManifest manifest() {
    return manifest;
  }

  public byte[] deployModelBytes() {
    return deployModel.clone();
  }

  /** Whether the deploy model carries its content digest (qspark writes one since it could; older ones do not). */
  public boolean sealed() {
    return DeployFormat.sealed(parsed);
  }

  public DeployModel deployModel() {
    return parsed;
  }

  public String deployModelSha256() {
    return ModelBlob.sha256(deployModel);
  }

  public String quantInfoJson() {
    return quantInfo;
  }

  /** The float model the deploy model was compiled from, imported. */
  public Model floatModel() {
    return dir.model(CalibrationFolder.FLOAT_MODEL, dir.read(CalibrationFolder.FLOAT_MODEL));
  }

  /** The fake-quant model the simulator's integers are compared with. */
  public ModelBlob quantizedBlob() {
    return ModelBlob.of(dir.shown() + "/" + CalibrationFolder.FLOAT_MODEL, dir.read(CalibrationFolder.FLOAT_MODEL))
        .quantized(quantInfo);
  }

  /** How the calibration images became model inputs, when the folder records it. */
  public Optional<InputPreprocessing> preprocessing() {
    return manifest.recordedPreprocessing();
  }

  /** What the folder holds besides its calibration, read back (to be written elsewhere as it is). */
  public Contents contents() {
    return new Contents(deployModelBytes(), dir.isFile(DEPLOY_TEXT) ? dir.readString(DEPLOY_TEXT) : "",
        ReportFiles.readText(dir).orElse("{}"), "qspark deploy: " + shown());
  }

  public Optional<Map<String, Object>> report() {
    return ReportFiles.read(dir);
  }
}
