package io.qspark.job.output;

import io.qspark.job.base.UserError;
import io.qspark.job.data.HadoopFiles;
import io.qspark.job.model.ModelBlob;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.onnx.OnnxImporter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A folder an earlier command wrote ({@link AtomicFolder}), read back on whatever file system it
 * is on (local, hdfs://, ...), so a pipeline's steps can hand folders to each other there. The
 * typed folders ({@link CalibrationFolder}, {@link DeployFolder}, ...) read through it.
 */
final class JobFolder {
  private final FileSystem fs;
  private final Path dir;

  private JobFolder(FileSystem fs, Path dir) {
    this.fs = fs;
    this.dir = dir;
  }

  /**
   * @param location a path or URI; without a scheme, on the default file system
   * @param what what the folder should be, for the message when it is missing ("a calibration folder")
   */
  static JobFolder open(String location, String what) {
    Configuration conf = HadoopFiles.driverConfiguration();
    Path dir = HadoopFiles.qualified(location, conf);
    JobFolder f = new JobFolder(HadoopFiles.fileSystem(dir, conf), dir);
    try {
      if (!f.fs.exists(dir)) throw new UserError(f.shown() + " not found; expected " + what);
      if (!f.fs.getFileStatus(dir).isDirectory()) throw new UserError(f.shown() + " is a file; expected " + what);
    } catch (IOException e) {
      throw new UserError("cannot read " + f.shown() + ": " + e.getMessage(), e);
    }
    return f;
  }

  String shown() {
    return HadoopFiles.display(dir);
  }

  boolean isFile(String name) {
    try {
      return fs.isFile(new Path(dir, name));
    } catch (IOException e) {
      throw new UserError("cannot read " + shown() + ": " + e.getMessage(), e);
    }
  }

  byte[] read(String name) {
    try {
      return HadoopFiles.readAll(new Path(dir, name), fs.getConf());
    } catch (IOException e) {
      throw new UserError("cannot read " + shown() + "/" + name + ": " + e.getMessage(), e);
    }
  }

  String readString(String name) {
    return new String(read(name), StandardCharsets.UTF_8);
  }

  /** An ONNX model file of the folder as {@code bytes} (read by the caller), imported as Model.load would (no external data). */
  Model model(String name, byte[] bytes) {
    String shown = shown() + "/" + name;
    OnnxImporter.Imported imp = OnnxImporter.parse(bytes, null, shown);
    return Model.prepare(imp.graph(), shown, ModelBlob.sha256(bytes), "onnx opset " + imp.opset());
  }

  /** The folder's files that exist, of these names. */
  java.util.List<String> missing(String... names) {
    java.util.List<String> r = new java.util.ArrayList<>();
    for (String n : names) if (!isFile(n)) r.add(n);
    return r;
  }
}
