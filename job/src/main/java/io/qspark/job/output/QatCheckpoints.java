package io.qspark.job.output;

import io.qspark.job.base.UserError;
import io.qspark.job.data.HadoopFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * QAT checkpoints in a folder qspark owns, on any Hadoop file system (local, hdfs://, ...). The
 * folder carries qspark's {@link OutputMarker} with the identity of the run that writes it; an
 * existing folder without one is refused and never deleted, and only qspark's own entries
 * ({@code step-*}, its temporary folders, the marker) are ever removed.
 *
 * <p>Each checkpoint is {@code step-NNNNNNNNN/} holding {@code state.bin}, the run's
 * {@code history.json} so far and {@code SHA256SUMS} (their SHA-256, in sha256sum's format),
 * written into a hidden temporary folder and renamed into place (atomic on HDFS and a local
 * disk), so a job killed mid-write leaves no checkpoint that looks complete. Reading checks the
 * digests whatever the file system (object stores keep no .crc files): a damaged newest
 * checkpoint is reported and the newest intact one used. The newest {@link #KEEP} are kept.
 */
public final class QatCheckpoints {
  private static final Logger LOG = LoggerFactory.getLogger("io.qspark.output");
  static final int KEEP = 2;
  private static final String PREFIX = "step-", STATE = "state.bin", HISTORY = "history.json", SUMS = "SHA256SUMS";
  private final Path dir;
  private final FileSystem fs;
  private final String shown;

  /** A checkpoint that read intact, and what was skipped to get to it (newer damaged ones), or null. */
  public record Loaded(long step, byte[] state, byte[] history, String warning) {}

  private QatCheckpoints(FileSystem fs, Path dir) {
    this.fs = fs;
    this.dir = dir;
    this.shown = HadoopFiles.display(dir);
  }

  /**
   * Opens a checkpoint folder (not creating it): one that exists must be qspark's checkpoint
   * folder. Temporary folders of dead runs in it are removed.
   */
  public static QatCheckpoints open(String location, Configuration conf) {
    Path p = HadoopFiles.qualified(location, conf);
    QatCheckpoints c = new QatCheckpoints(HadoopFiles.fileSystem(p, conf), p);
    try {
      if (c.fs.exists(p)) {
        if (!c.fs.getFileStatus(p).isDirectory()) throw new UserError("checkpoint folder " + c.shown + " exists and is not a folder");
        OutputMarker.Contents m = OutputMarker.read(c.fs, p);
        // an empty folder (made for the run, with the right permissions) holds nothing to lose
        boolean empty = c.fs.listStatus(p).length == 0;
        if (!empty && (m == null || !m.kind().equals(OutputMarker.CHECKPOINTS))) {
          throw new UserError(c.shown + " exists and is not a qspark checkpoint folder (it has no " + OutputMarker.FILE
              + " of qspark's QAT checkpoints); qspark neither uses nor deletes it: move it away or choose another"
              + " --checkpoint-dir (or --out)");
        }
        for (String note : Staging.removeStale(c.fs, p)) LOG.info(note);
      }
    } catch (IOException e) {
      throw new UserError("cannot read checkpoint folder " + c.shown + ": " + AtomicFolder.oneLine(e), e);
    }
    return c;
  }

  public String where() {
    return shown;
  }

  /**
   * Refuses to resume from checkpoints of another run (another model, data or settings): their
   * marker records the run that wrote them.
   */
  public void requireRun(String identity) {
    try {
      OutputMarker.Contents m = fs.exists(dir) ? OutputMarker.read(fs, dir) : null;
      if (m != null && m.run() != null && !m.run().equals(identity) && !list().isEmpty()) {
        throw new UserError("cannot resume: the checkpoints in " + shown + " belong to another run (" + m.run()
            + "), not this one (" + identity + ")");
      }
    } catch (IOException e) {
      throw new UserError("cannot read checkpoint folder " + shown + ": " + AtomicFolder.oneLine(e), e);
    }
  }

  /**
   * Writes the checkpoint of a step; the folder is created with its marker on the first one.
   * Checkpoints newer than this step (left by the run this one resumed, from an earlier step) are
   * removed, and all but the newest {@link #KEEP}.
   *
   * @param identity the run's: what a resume must match
   * @param history the training history up to this step (null: none)
   */
  public void write(long step, byte[] state, byte[] history, String identity) {
    String name = stepName(step);
    Path target = new Path(dir, name);
    Staging temp = null;
    try {
      OutputMarker.Contents m = fs.exists(dir) ? OutputMarker.read(fs, dir) : null;
      if (m == null || !identity.equals(m.run())) {
        fs.mkdirs(dir);
        OutputMarker.write(fs, dir, OutputMarker.CHECKPOINTS, List.of(), identity);
      }
      temp = Staging.create(fs, dir, name);
      Map<String, byte[]> files = new LinkedHashMap<>();
      if (history != null) files.put(HISTORY, history);
      files.put(STATE, state);
      StringBuilder sums = new StringBuilder();
      for (Map.Entry<String, byte[]> f : files.entrySet()) {
        try (OutputStream o = fs.create(new Path(temp.dir(), f.getKey()), false)) {
          o.write(f.getValue());
        }
        sums.append(sha256(f.getValue())).append("  ").append(f.getKey()).append('\n');
      }
      // the digests last: a checkpoint is complete when they are there (and they match)
      try (OutputStream o = fs.create(new Path(temp.dir(), SUMS), false)) {
        o.write(sums.toString().getBytes(StandardCharsets.US_ASCII));
      }
      if (fs.exists(target)) fs.delete(target, true);
      if (!fs.rename(temp.dir(), target)) throw new IOException("rename to " + target + " failed");
      temp.release();
      temp = null;
      List<Path> all = list();
      List<Path> older = new ArrayList<>();
      for (Path p : all) {
        if (step(p) > step) fs.delete(p, true);
        else older.add(p);
      }
      for (int i = 0; i + KEEP < older.size(); i++) fs.delete(older.get(i), true);
    } catch (IOException e) {
      throw new UserError("cannot write checkpoint " + HadoopFiles.display(target) + ": " + AtomicFolder.oneLine(e), e);
    } finally {
      if (temp != null) temp.discard();
    }
  }

  /**
   * The newest intact checkpoint (its digests match), or null if there is none at all. Newer
   * damaged ones are named in the result's warning; when every one is damaged that is an error.
   */
  public Loaded latest() {
    List<String> damaged = new ArrayList<>();
    try {
      List<Path> all = list();
      for (int i = all.size() - 1; i >= 0; i--) {
        Path p = all.get(i);
        Map<String, byte[]> files = new LinkedHashMap<>();
        String problem = read(p, files);
        if (problem != null) {
          damaged.add(p.getName() + " (" + problem + ")");
          continue;
        }
        String warning = damaged.isEmpty() ? null : "damaged checkpoint" + (damaged.size() > 1 ? "s " : " ")
            + String.join(", ", damaged) + " in " + shown + "; resuming from " + p.getName() + " instead";
        return new Loaded(step(p), files.get(STATE), files.get(HISTORY), warning);
      }
    } catch (IOException e) {
      throw new UserError("cannot read checkpoints in " + shown + ": " + AtomicFolder.oneLine(e), e);
    }
    if (damaged.isEmpty()) return null;
    throw new UserError("no intact checkpoint in " + shown + ": " + String.join(", ", damaged)
        + "; start again without --resume (with --overwrite)");
  }

  /** Reads a checkpoint's files into {@code files}; returns what is wrong with it, or null when every digest matches. */
  private String read(Path step, Map<String, byte[]> files) {
    byte[] sums;
    try {
      sums = readAll(new Path(step, SUMS));
    } catch (IOException e) {
      return "no readable " + SUMS + ": " + AtomicFolder.oneLine(e);
    }
    for (String line : new String(sums, StandardCharsets.US_ASCII).split("\n")) {
      if (line.isBlank()) continue;
      String[] f = line.split("  ", 2);
      if (f.length != 2 || f[0].length() != 64 || !(f[1].equals(STATE) || f[1].equals(HISTORY))) return SUMS + " is damaged";
      byte[] bytes;
      try {
        bytes = readAll(new Path(step, f[1]));
      } catch (IOException e) {
        return "cannot read " + f[1] + ": " + AtomicFolder.oneLine(e);
      }
      if (!sha256(bytes).equals(f[0])) return f[1] + " does not match its sha256";
      files.put(f[1], bytes);
    }
    return files.containsKey(STATE) ? null : SUMS + " lists no " + STATE;
  }

  private byte[] readAll(Path p) throws IOException {
    try (InputStream in = fs.open(p)) {
      return in.readAllBytes();
    }
  }

  /** Whether some complete checkpoint exists. */
  public boolean any() {
    try {
      return !list().isEmpty();
    } catch (IOException e) {
      throw new UserError("cannot read checkpoints in " + shown + ": " + AtomicFolder.oneLine(e), e);
    }
  }

  /**
   * Removes what qspark put there (checkpoints, its temporary folders, the marker) and then the
   * folder if nothing else is left (the default folder, once the run's output is in place).
   */
  public void delete() {
    try {
      if (!fs.exists(dir)) return;
      clear();
      for (FileStatus s : fs.listStatus(dir)) {
        String n = s.getPath().getName();
        if (n.startsWith(Staging.PREFIX)) fs.delete(s.getPath(), true);
      }
      fs.delete(new Path(dir, OutputMarker.FILE), false);
      if (fs.listStatus(dir).length == 0) fs.delete(dir, false);
    } catch (IOException e) {
      throw new UserError("cannot delete checkpoints in " + shown + ": " + AtomicFolder.oneLine(e), e);
    }
  }

  /** Removes every checkpoint (a fresh run over an old folder, with --overwrite). */
  public void clear() {
    try {
      for (Path p : list()) fs.delete(p, true);
    } catch (IOException e) {
      throw new UserError("cannot clear checkpoints in " + shown + ": " + AtomicFolder.oneLine(e), e);
    }
  }

  /** Checkpoint folders (complete or damaged), oldest first: qspark's own step-NNNNNNNNN only. */
  private List<Path> list() throws IOException {
    List<Path> r = new ArrayList<>();
    if (!fs.exists(dir)) return r;
    for (FileStatus s : fs.listStatus(dir)) {
      if (s.isDirectory() && s.getPath().getName().matches(PREFIX + "\\d{9,}")) r.add(s.getPath());
    }
    r.sort((a, b) -> Long.compare(step(a), step(b)));
    return r;
  }

  private static long step(Path p) {
    return Long.parseLong(p.getName().substring(PREFIX.length()));
  }

  private static String stepName(long step) {
    return String.format(Locale.ROOT, PREFIX + "%09d", step);
  }

  private static String sha256(byte[] b) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JVM has no SHA-256", e);
    }
  }
}
