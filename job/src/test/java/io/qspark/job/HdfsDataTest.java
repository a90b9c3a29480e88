package io.qspark.job;

import org.junit.jupiter.api.Timeout;
import java.util.concurrent.TimeUnit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The data sources on hdfs:// paths, against an HDFS running in this JVM on the loopback
 * address: listing on the driver, reading in tasks, all through Hadoop's FileSystem.
 */
@Tag("slow")
// a hang guard for a test that waits on processes or servers, not a speed limit
@Timeout(value = 15, unit = TimeUnit.MINUTES)
class HdfsDataTest {
  @TempDir static Path dir;
  static TestData data;
  static MiniHdfs hdfs;
  static String root;

  @BeforeAll
  static void startHdfs() throws IOException {
    data = TestData.get();
    hdfs = new MiniHdfs(dir);
    root = hdfs.root;
    hdfs.upload(data.png, "/data/png");
    hdfs.upload(data.idx.getParent(), "/data/idx");
    hdfs.upload(data.parquet(), "/data/fm.parquet");
  }

  @AfterAll
  static void stopHdfs() {
    if (hdfs != null) hdfs.close();
  }

  @Test
  void imageFolderIdxAndParquetOnHdfs() {
    Run folder = TestData.evaluate(root + "/data/png");
    data.assertSameResults(folder);
    assertTrue(TestData.dataLine(folder).contains(root + "/data/png: "), folder.out());
    data.assertSameResults(TestData.evaluate(root + "/data/idx/sub-images-idx3-ubyte"));
    data.assertSameResults(TestData.evaluate(root + "/data/fm.parquet", "--image-column", "png"));
  }

  @Test
  void missingHdfsPathIsAUserError() {
    Run r = Run.of("evaluate", "--model", Run.sampleModel(), "--data", root + "/data/nothing");
    assertEquals(2, r.code(), r.err());
    assertEquals(List.of("qspark: error: data not found: " + root + "/data/nothing"), r.errorLines());
  }
}
