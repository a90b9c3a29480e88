package io.qspark.job.output;

import io.qspark.job.preprocess.InputPreprocessing;

/**
 * Sensitivity analysis (qspark sensitivity): sensitivity.json (the ranked points and their
 * figures, the same bytes for any partitioning), sensitivity.csv (the same as a table),
 * report.json and report.html (with the run), folder.json.
 */
public final class SensitivityFolder {
  static final String JSON = "sensitivity.json";
  static final String CSV = "sensitivity.csv";

  private SensitivityFolder() {}

  /** A sensitivity folder being written; nothing appears until {@link #commit}. */
  public static final class Writer extends FolderWriter {
    Writer(String location, boolean overwrite, RunInputs inputs) {
      super(location, overwrite, FolderKind.SENSITIVITY, inputs);
    }

    /** @param preprocessing how the images became inputs (null: not known) */
    public void commit(String sensitivityJson, String csv, String reportJson, String reportTitle,
        InputPreprocessing preprocessing) {
      folder.write(JSON, sensitivityJson);
      folder.write(CSV, csv);
      ReportFiles.write(folder, reportTitle, reportJson, null);
      commit("sensitivity", preprocessing);
    }
  }

  /** Checks the target (before any work is spent; apart from the run's {@code inputs}) and opens the folder for writing. */
  public static Writer create(String location, boolean overwrite, RunInputs inputs) {
    return new Writer(location, overwrite, inputs);
  }
}
