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
 * is on (local, hdfs://, ...), so a pipeline's steps can hand folders to each other there.
 */
public final class JobFolder {
  private final FileSystem fs;
  private final Path dir;

  private JobFolder(FileSystem fs, Path dir) {
    this.fs = fs;
    this.dir = dir;
  }

  /** @param location a path or URI; without a scheme, on the default file system */
  public static JobFolder open(String location) {
    Configuration conf = HadoopFiles.driverConfiguration();
    Path dir = HadoopFiles.qualified(location, conf);
    return new JobFolder(HadoopFiles.fileSystem(dir, conf), dir);
  }

  public String shown() {
    return HadoopFiles.display(dir);
  }

  public boolean isFile(String name) {
    try {
      return fs.isFile(new Path(dir, name));
    } catch (IOException e) {
      throw new UserError("cannot read " + shown() + ": " + e.getMessage(), e);
    }
  }

  public byte[] read(String name) {
    try {
      return HadoopFiles.readAll(new Path(dir, name), fs.getConf());
    } catch (IOException e) {
      throw new UserError("cannot read " + shown() + "/" + name + ": " + e.getMessage(), e);
    }
  }

  public String readString(String name) {
    return new String(read(name), StandardCharsets.UTF_8);
  }

  /** An ONNX model file of the folder, imported as Model.load would (it may not use external data). */
  public Model model(String name) {
    byte[] bytes = read(name);
    String shown = shown() + "/" + name;
    OnnxImporter.Imported imp = OnnxImporter.parse(bytes, null, shown);
    return Model.prepare(imp.graph(), shown, ModelBlob.of(shown, bytes).sha256(), "onnx opset " + imp.opset());
  }
}
