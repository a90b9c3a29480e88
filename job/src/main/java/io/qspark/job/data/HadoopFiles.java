package io.qspark.job.data;

import io.qspark.job.base.UserError;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkConf;
import scala.Tuple2;

/**
 * Data paths through Hadoop's FileSystem, so hdfs://, s3a:// and the rest work wherever a local
 * path does. A path without a scheme is on the default file system (fs.defaultFS), as in
 * spark.read: the local disk unless the cluster's core-site.xml says otherwise.
 */
public final class HadoopFiles {
  private HadoopFiles() {}

  /**
   * The configuration Spark would give its jobs, without starting Spark: site files plus the
   * spark.hadoop.* settings (spark-submit passes them as system properties). Data is opened on
   * the driver before a Spark context exists, so a missing folder costs no Spark start-up.
   */
  public static Configuration driverConfiguration() {
    Configuration conf = new Configuration();
    for (Tuple2<String, String> kv : new SparkConf().getAllWithPrefix("spark.hadoop.")) conf.set(kv._1(), kv._2());
    return conf;
  }

  /** The user's path, made absolute on its file system. */
  public static Path qualified(String path, Configuration conf) {
    Path p;
    try {
      p = new Path(path);
    } catch (IllegalArgumentException e) {
      throw new UserError("not a path or URI: " + path + " (" + e.getMessage() + ")");
    }
    return fileSystem(p, conf).makeQualified(p);
  }

  public static FileSystem fileSystem(Path p, Configuration conf) {
    try {
      return p.getFileSystem(conf);
    } catch (IOException e) { // e.g. "No FileSystem for scheme"
      throw new UserError("cannot open " + p + ": " + e.getMessage(), e);
    }
  }

  /** The status of an existing path; a missing one is the user's error. */
  public static FileStatus status(Path p, Configuration conf) {
    try {
      return fileSystem(p, conf).getFileStatus(p);
    } catch (FileNotFoundException e) {
      throw new UserError("data not found: " + display(p));
    } catch (IOException e) {
      throw new UserError("cannot read " + display(p) + ": " + e.getMessage(), e);
    }
  }

  /** How a path is shown to the user: local ones as plain paths, others as URIs. */
  public static String display(Path p) {
    String scheme = p.toUri().getScheme();
    return scheme == null || scheme.equals("file") ? p.toUri().getPath() : p.toString();
  }

  /** Hadoop's convention (and Spark's): _SUCCESS, .crc and the like are not data. */
  public static boolean hidden(String name) {
    return name.startsWith(".") || name.startsWith("_");
  }

  public static InputStream open(Path p, Configuration conf) throws IOException {
    return fileSystem(p, conf).open(p);
  }

  public static byte[] readAll(Path p, Configuration conf) throws IOException {
    try (InputStream in = open(p, conf)) {
      return in.readAllBytes();
    }
  }
}
