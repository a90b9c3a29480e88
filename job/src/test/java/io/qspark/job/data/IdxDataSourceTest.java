package io.qspark.job.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxDataSourceTest {
  @TempDir Path dir;

  private static org.apache.hadoop.fs.Path siblingLabels(Path images) throws IOException {
    return IdxDataSource.siblingLabels(FileSystem.getLocal(new Configuration()),
        new org.apache.hadoop.fs.Path(images.toUri()));
  }

  @Test
  void labelsAreFoundBesideTheImages() throws IOException {
    Path img = Files.createFile(dir.resolve("t10k-images-idx3-ubyte.gz"));
    Files.createFile(dir.resolve("train-labels-idx1-ubyte.gz"));
    Path lab = Files.createFile(dir.resolve("t10k-labels-idx1-ubyte"));
    assertEquals(lab.getFileName().toString(), siblingLabels(img).getName(), "matching prefix, gz or not");
  }

  @Test
  void aSingleLabelsFileIsTakenWhateverItsName() throws IOException {
    Path img = Files.createFile(dir.resolve("my-images"));
    Path lab = Files.createFile(dir.resolve("all-labels-idx1-ubyte.gz"));
    assertEquals(lab.getFileName().toString(), siblingLabels(img).getName());
    Files.createFile(dir.resolve("other-labels-idx1-ubyte.gz"));
    assertNull(siblingLabels(img), "two candidates: no guess");
  }
}
