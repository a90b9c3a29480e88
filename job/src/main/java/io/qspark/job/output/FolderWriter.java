package io.qspark.job.output;

/**
 * A typed folder being written: its files go into an {@link AtomicFolder}, and {@link #commit}
 * adds folder.json and puts the whole folder in place. Closing without a commit leaves nothing.
 */
class FolderWriter implements AutoCloseable {
  final AtomicFolder folder;
  private final FolderKind kind;

  /** @param inputs what the run reads, which the folder must keep apart from */
  FolderWriter(String location, boolean overwrite, FolderKind kind, RunInputs inputs) {
    this.folder = AtomicFolder.create(location, overwrite, inputs);
    this.kind = kind;
  }

  /** Where the folder will be, as the user reads it. */
  public String shown() {
    return folder.shown();
  }

  /** A sibling of the folder, NAME + suffix, as a URI on its file system. */
  public String sibling(String suffix) {
    return folder.sibling(suffix);
  }

  void commit(String command, io.qspark.job.preprocess.InputPreprocessing preprocessing) {
    folder.write(FolderManifest.FILE, new FolderManifest(FolderManifest.VERSION, kind, command, preprocessing).json());
    folder.commit();
  }

  @Override
  public void close() {
    folder.close();
  }
}
