package io.qspark.job.output;

import io.qspark.job.report.TrainHistory;
import java.util.Optional;

/**
 * A model trained by QAT: a {@link CalibrationFolder} (deploy and evaluate take it as one) plus
 * the training history, train_history.csv and train_history.json. While it trains, checkpoints
 * go by default to a folder beside it, NAME.checkpoints ({@link QatCheckpoints}).
 */
public final class QatFolder {
  static final String HISTORY_CSV = "train_history.csv";
  static final String HISTORY_JSON = "train_history.json";
  /** The default checkpoint folder: the output's name with this suffix, beside it. */
  static final String CHECKPOINTS = ".checkpoints";

  private QatFolder() {}

  /** A QAT folder being written; nothing appears until {@link #commit}. */
  public static final class Writer extends FolderWriter {
    Writer(String location, boolean overwrite, RunInputs inputs) {
      super(location, overwrite, FolderKind.QAT, inputs);
    }

    /** The default checkpoint folder beside the output, as a URI on its file system. */
    public String defaultCheckpoints() {
      return sibling(CHECKPOINTS);
    }

    /** Writes every file (report.html draws the training curves and the calibration) and puts the folder in place. */
    public void commit(CalibrationFolder.Contents c, TrainHistory history) {
      CalibrationFolder.writeModels(this, c);
      ReportFiles.write(folder, c.reportTitle(), c.reportJson(), c.quantInfo());
      folder.write(HISTORY_CSV, history.csv());
      folder.write(HISTORY_JSON, history.json());
      commit(c.command(), c.preprocessing());
    }
  }

  /** Checks the target (before any work is spent; apart from the run's {@code inputs}) and opens the folder for writing. */
  public static Writer create(String location, boolean overwrite, RunInputs inputs) {
    return new Writer(location, overwrite, inputs);
  }

  /** The training history of a QAT folder, if it has one. */
  public static Optional<TrainHistory> history(String location) {
    JobFolder dir = JobFolder.open(location, "a QAT folder");
    return dir.isFile(HISTORY_JSON) ? Optional.of(TrainHistory.parse(dir.readString(HISTORY_JSON))) : Optional.empty();
  }
}
