package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The data sources on hdfs:// paths, against an HDFS running in this JVM on the loopback
 * address: listing on the driver, reading in tasks, all through Hadoop's FileSystem.
 */
class HdfsDataTest {
  @TempDir static Path dir;
  static TestData data;
  static MiniDFSCluster cluster;
  static String root;

  @BeforeAll
  static void startHdfs() throws IOException {
    data = TestData.get();
    Configuration conf = new Configuration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, dir.toString());
    conf.set("dfs.namenode.http-address", "127.0.0.1:0");
    conf.set("dfs.datanode.address", "127.0.0.1:0");
    conf.set("dfs.datanode.http.address", "127.0.0.1:0");
    conf.set("dfs.datanode.ipc.address", "127.0.0.1:0");
    // closing a file polls the name node until the data node has reported the block, first after
    // 400 ms: a few hundred small uploads would take minutes
    conf.setInt("dfs.client.block.write.locateFollowingBlock.initial.delay.ms", 5);
    cluster = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
    cluster.waitActive();
    FileSystem fs = cluster.getFileSystem();
    root = "hdfs://localhost:" + cluster.getNameNodePort();
    upload(fs, data.png, "/data/png");
    upload(fs, data.idx.getParent(), "/data/idx");
    upload(fs, data.parquet(), "/data/fm.parquet");
  }

  private static void upload(FileSystem fs, Path local, String to) throws IOException {
    fs.copyFromLocalFile(new org.apache.hadoop.fs.Path(local.toUri()), new org.apache.hadoop.fs.Path(to));
  }

  @AfterAll
  static void stopHdfs() {
    if (cluster != null) cluster.shutdown();
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
