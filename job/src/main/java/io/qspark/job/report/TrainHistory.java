package io.qspark.job.report;

import io.qspark.kernels.io.Json;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A QAT run's curves, as its output folder holds them: one row per logged step (epoch, step,
 * learning rate, mean loss and training top-1 of the steps since the previous row, images/s),
 * the epoch's last row also carrying the validation top-1, and one entry per epoch.
 * train_history.csv has the rows; train_history.json has the rows under "history" and the
 * epochs under "epochs" (the format notebooks/qat_curves.ipynb reads). Checkpoints carry it
 * too, so a resumed run's history starts where the checkpoint's did (its first row averages the
 * steps since the resume).
 */
public final class TrainHistory {
  public static final List<String> COLUMNS = List.of("epoch", "step", "lr", "loss", "train_top1", "images_per_second", "val_top1");
  private final List<Map<String, Object>> rows = new ArrayList<>();
  private final List<Map<String, Object>> epochs = new ArrayList<>();

  public void step(int epoch, long step, double lr, double loss, double trainTop1, double imagesPerSecond) {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("epoch", epoch);
    r.put("step", step);
    r.put("lr", lr);
    r.put("loss", loss);
    r.put("train_top1", Double.isNaN(trainTop1) ? null : round(trainTop1)); // NaN: the loss has no classes
    r.put("images_per_second", round(imagesPerSecond));
    rows.add(r);
  }

  /** An epoch ended at {@code step}: its entry, and its validation top-1 (null: none) on that step's row. */
  public void epoch(int epoch, long step, Double meanLoss, Double valTop1) {
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("epoch", epoch);
    e.put("steps", step);
    if (meanLoss != null) e.put("mean_loss", round(meanLoss));
    if (valTop1 != null) {
      e.put("val_top1", round(valTop1));
      for (Map<String, Object> r : rows) if (((Number) r.get("step")).longValue() == step) r.put("val_top1", round(valTop1));
    }
    epochs.add(e);
  }

  /** The logged steps (report.json's "curve", the report page's training curves). */
  public List<Map<String, Object>> rows() {
    return rows;
  }

  /** The per-epoch entries (report.json's "history"). */
  public List<Map<String, Object>> epochs() {
    return epochs;
  }

  public String csv() {
    StringBuilder b = new StringBuilder(String.join(",", COLUMNS)).append('\n');
    for (Map<String, Object> r : rows) {
      List<String> cells = new ArrayList<>();
      for (String c : COLUMNS) {
        Object v = r.get(c);
        cells.add(v == null ? "" : v.toString());
      }
      b.append(String.join(",", cells)).append('\n');
    }
    return b.toString();
  }

  public String json() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("columns", COLUMNS);
    m.put("history", rows);
    m.put("epochs", epochs);
    return Json.write(m);
  }

  /** A history as {@link #json} wrote it (from a checkpoint). */
  @SuppressWarnings("unchecked")
  public static TrainHistory parse(String json) {
    Map<String, Object> m = (Map<String, Object>) Json.read(json);
    TrainHistory h = new TrainHistory();
    for (Object r : (List<Object>) m.get("history")) h.rows.add(new LinkedHashMap<>((Map<String, Object>) r));
    for (Object e : (List<Object>) m.get("epochs")) h.epochs.add(new LinkedHashMap<>((Map<String, Object>) e));
    return h;
  }

  private static double round(double x) {
    return Math.round(x * 100) / 100.0;
  }
}
