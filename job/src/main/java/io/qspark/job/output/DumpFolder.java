package io.qspark.job.output;

import io.qspark.dpu.GoldenDump;

/**
 * A golden dump's folder ({@link GoldenDump}: its file names and byte layout are dpu-sim's), on
 * any Hadoop file system: written atomically as every qspark output, read back for compare-dumps.
 */
public final class DumpFolder {
  private DumpFolder() {}

  /** An open dump being written; nothing appears at its location before {@link #commit}. */
  public static final class Writer implements GoldenDump.Sink, AutoCloseable {
    private final AtomicFolder folder;

    private Writer(AtomicFolder folder) {
      this.folder = folder;
    }

    @Override
    public void write(String path, byte[] bytes) {
      folder.write(path, bytes);
    }

    public String shown() {
      return folder.shown();
    }

    public void commit() {
      folder.commit();
    }

    @Override
    public void close() {
      folder.close();
    }
  }

  /**
   * Checks the location can be written (before any work is spent) and opens it.
   *
   * @param inputs what the run reads (and its other outputs): the dump may not land on them
   */
  public static Writer create(String location, boolean overwrite, RunInputs inputs) {
    return new Writer(AtomicFolder.create(location, overwrite, inputs));
  }

  /** A dump to read, local or on any Hadoop file system. */
  public static GoldenDump.Source open(String location) {
    JobFolder f = JobFolder.open(location, "a golden dump (written by qspark simulate --dump)");
    return new GoldenDump.Source() {
      @Override
      public byte[] read(String path) {
        return f.isFile(path) ? f.read(path) : null;
      }

      @Override
      public String shown() {
        return f.shown();
      }
    };
  }
}
