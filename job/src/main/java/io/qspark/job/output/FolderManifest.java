package io.qspark.job.output;

import io.qspark.job.base.UserError;
import io.qspark.job.preprocess.InputPreprocessing;
import io.qspark.kernels.io.Json;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * folder.json: what a folder is and how it was made, for the programs that read it (report.json
 * is for people): the folder format's version, its kind, the command that wrote it, and the
 * preprocessing its model inputs were made with. Folders of format 1 (qspark 0.1.0) have no
 * folder.json; readers take them by their files, with no preprocessing recorded.
 *
 * @param preprocessing null when not known (format 1, or a folder without model inputs)
 */
public record FolderManifest(int version, FolderKind kind, String command, InputPreprocessing preprocessing) {
  static final String FILE = "folder.json";
  static final String FORMAT = "qspark-folder/";
  /** The format this qspark writes; it reads this one and every earlier one. */
  public static final int VERSION = 2;
  /** The format of folders without folder.json. */
  public static final int FIRST = 1;

  public Optional<InputPreprocessing> recordedPreprocessing() {
    return Optional.ofNullable(preprocessing);
  }

  String json() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("format", FORMAT + version);
    m.put("kind", kind.key);
    m.put("command", command);
    if (preprocessing != null) m.put("preprocessing", preprocessing.json());
    return Json.write(m);
  }

  /** The manifest of a folder; for one without folder.json, format 1 of the kind its files show. */
  @SuppressWarnings("unchecked")
  static FolderManifest read(JobFolder dir, FolderKind legacyKind) {
    if (!dir.isFile(FILE)) return new FolderManifest(FIRST, legacyKind, null, null);
    String where = dir.shown() + "/" + FILE;
    Map<String, Object> m;
    try {
      m = (Map<String, Object>) Json.read(dir.readString(FILE));
    } catch (RuntimeException e) {
      throw new UserError(where + " is not valid JSON: " + e.getMessage(), e);
    }
    Object format = m.get("format");
    if (!(format instanceof String f) || !f.startsWith(FORMAT)) {
      throw new UserError(where + " is not a qspark folder description (format " + format + ")");
    }
    int version;
    try {
      version = Integer.parseInt(f.substring(FORMAT.length()));
    } catch (NumberFormatException e) {
      throw new UserError(where + ": unknown format " + f, e);
    }
    if (version > VERSION) {
      throw new UserError(dir.shown() + " was written by a newer qspark (folder format " + version + "); this one reads"
          + " formats up to " + VERSION + ": use the qspark that wrote it, or a newer one");
    }
    Object pre = m.get("preprocessing");
    return new FolderManifest(version, FolderKind.parse(String.valueOf(m.get("kind")), where), (String) m.get("command"),
        pre == null ? null : InputPreprocessing.fromJson((Map<String, Object>) pre, where));
  }
}
