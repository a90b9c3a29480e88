package io.qspark.job;

import java.io.IOException;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.DistributedFileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/** An HDFS (one name node, one data node) in this JVM on the loopback address, for tests. */
final class MiniHdfs implements AutoCloseable {
  final MiniDFSCluster cluster;
  /** hdfs://localhost:PORT, without a trailing slash. */
  final String root;

  MiniHdfs(Path baseDir) throws IOException {
    Configuration conf = new Configuration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, baseDir.toString());
    conf.set("dfs.namenode.http-address", "127.0.0.1:0");
    conf.set("dfs.datanode.address", "127.0.0.1:0");
    conf.set("dfs.datanode.http.address", "127.0.0.1:0");
    conf.set("dfs.datanode.ipc.address", "127.0.0.1:0");
    // closing a file polls the name node until the data node has reported the block, first after
    // 400 ms: a few hundred small uploads would take minutes
    conf.setInt("dfs.client.block.write.locateFollowingBlock.initial.delay.ms", 5);
    cluster = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
    cluster.waitActive();
    root = "hdfs://localhost:" + cluster.getNameNodePort();
  }

  DistributedFileSystem fs() throws IOException {
    return cluster.getFileSystem();
  }

  void upload(Path local, String to) throws IOException {
    fs().copyFromLocalFile(new org.apache.hadoop.fs.Path(local.toUri()), new org.apache.hadoop.fs.Path(to));
  }

  @Override
  public void close() {
    cluster.shutdown();
  }
}
