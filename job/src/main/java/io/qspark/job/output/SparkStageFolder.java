package io.qspark.job.output;

import io.qspark.job.base.UserError;
import io.qspark.job.data.HadoopFiles;
import java.io.IOException;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * What qspark keeps in the folder of a saved Spark ML stage, beside the metadata Spark writes
 * there itself: a fitted QuantizedModel's calibration as a calibration folder ("calibration")
 * and, when it compiled, its deploy model as a deploy folder ("deploy"), each written
 * atomically and readable by the command line as any such folder (evaluate --model, simulate
 * --deploy). {@link #VERSION} is the layout's; the stage's metadata records it, and a folder
 * saved by a newer layout is refused rather than half read.
 */
public final class SparkStageFolder {
  static final String CALIBRATION = "calibration";
  static final String DEPLOY = "deploy";
  /** The layout this qspark saves; it loads this one and every earlier one. */
  public static final int VERSION = 1;

  private SparkStageFolder() {}

  /** A saved model: its calibration, and its deploy model when it has one. */
  public record Saved(CalibrationFolder.Contents calibration, Optional<DeployFolder.Contents> deploy) {}

  /** Fails, naming the stage's folder, when it was saved in a layout newer than this qspark's. */
  public static void requireVersion(int version, String path) {
    if (version > VERSION) {
      throw new UserError(path + " was saved by a newer qspark (Spark stage format " + version + "); this one loads"
          + " formats up to " + VERSION + ": load it with the qspark that saved it, or a newer one");
    }
    if (version < 1) throw new UserError(path + ": not a qspark Spark stage (format " + version + ")");
  }

  /** Writes a model's folders into the stage's folder {@code path} (which Spark has just made). */
  public static void write(String path, CalibrationFolder.Contents calibration, DeployFolder.Contents deploy) {
    String cal = child(path, CALIBRATION);
    try (CalibrationFolder.Writer w = CalibrationFolder.create(cal, false, RunInputs.none())) {
      w.commit(calibration);
    }
    if (deploy == null) return;
    CalibrationFolder written = CalibrationFolder.open(cal);
    try (DeployFolder.Writer w = DeployFolder.create(child(path, DEPLOY), false, RunInputs.none().with("the calibration", cal))) {
      w.commit(deploy, written, calibration.floatModel());
    }
  }

  /** A saved model's folders, read back. */
  public static Saved read(String path) {
    CalibrationFolder cal = CalibrationFolder.open(child(path, CALIBRATION));
    String dep = child(path, DEPLOY);
    Optional<DeployFolder.Contents> deploy = exists(dep) ? Optional.of(DeployFolder.open(dep).contents()) : Optional.empty();
    return new Saved(cal.contents(), deploy);
  }

  /** The calibration folder of the stage saved at {@code path}. */
  public static String calibrationFolder(String path) {
    return child(path, CALIBRATION);
  }

  /** The deploy folder of the stage saved at {@code path} (present when the model compiled). */
  public static String deployFolder(String path) {
    return child(path, DEPLOY);
  }

  private static String child(String path, String name) {
    return new Path(path, name).toString();
  }

  private static boolean exists(String location) {
    Configuration conf = HadoopFiles.driverConfiguration();
    Path p = HadoopFiles.qualified(location, conf);
    try {
      return HadoopFiles.fileSystem(p, conf).exists(p);
    } catch (IOException e) {
      throw new UserError("cannot read " + HadoopFiles.display(p) + ": " + e.getMessage(), e);
    }
  }
}
