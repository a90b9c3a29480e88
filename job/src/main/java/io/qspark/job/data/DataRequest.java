package io.qspark.job.data;

import java.nio.file.Path;

/**
 * Which images to read, as the user asked: data path, optional labels path, at most
 * {@code limit} images (all when negative), optional C,H,W for files that do not carry it.
 */
public record DataRequest(Path data, Path labels, int limit, int[] dims) {
  public DataRequest {
    dims = dims == null ? null : dims.clone();
  }

  @Override
  public int[] dims() {
    return dims == null ? null : dims.clone();
  }
}
