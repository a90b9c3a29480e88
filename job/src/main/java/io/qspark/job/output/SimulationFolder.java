package io.qspark.job.output;

import io.qspark.job.base.UserError;
import io.qspark.job.preprocess.InputPreprocessing;
import java.util.Map;

/** The figures of a simulation (simulate --out): report.json, report.html and folder.json. */
public final class SimulationFolder {
  private SimulationFolder() {}

  /** A simulation folder being written; nothing appears until {@link #commit}. */
  public static final class Writer extends FolderWriter {
    Writer(String location, boolean overwrite, RunInputs inputs) {
      super(location, overwrite, FolderKind.SIMULATION, inputs);
    }

    /**
     * @param preprocessing how the images became inputs (null: not known)
     * @param quantInfoJson the deploy folder's fix_points, for the page's weight ranges
     */
    public void commit(String reportJson, String reportTitle, String quantInfoJson, InputPreprocessing preprocessing) {
      ReportFiles.write(folder, reportTitle, reportJson, quantInfoJson);
      commit("simulate", preprocessing);
    }
  }

  public static Writer create(String location, boolean overwrite, RunInputs inputs) {
    return new Writer(location, overwrite, inputs);
  }

  /** report.json of a simulation folder. */
  public static Map<String, Object> report(String location) {
    JobFolder dir = JobFolder.open(location, "a simulation folder (written by qspark simulate --out)");
    return ReportFiles.read(dir).orElseThrow(() -> new UserError(dir.shown() + " has no report of a simulation"));
  }
}
