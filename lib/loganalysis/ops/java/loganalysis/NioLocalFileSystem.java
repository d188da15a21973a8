package loganalysis;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;

import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;

/**
 * Hadoop's local file system, with permissions set through java.nio.
 *
 * Without Hadoop's native library (PySpark ships none), RawLocalFileSystem sets the permission
 * of every file and folder it creates by starting a `chmod` process: about 10 ms each, two per
 * output file (the file and its checksum) and one per partition folder. Writing 2M records into
 * 1,500 service x environment folders spent 20-30 s on those processes. The permissions set are
 * the same; only how they are set changes.
 */
public class NioLocalFileSystem extends LocalFileSystem {
    public NioLocalFileSystem() {
        super(new NioRawLocalFileSystem());
    }

    public static class NioRawLocalFileSystem extends RawLocalFileSystem {
        @Override
        public void setPermission(Path path, FsPermission permission) throws IOException {
            if (permission.getStickyBit()) {  // java.nio has no sticky bit: the usual way
                super.setPermission(path, permission);
                return;
            }
            String symbolic = permission.getUserAction().SYMBOL + permission.getGroupAction().SYMBOL
                    + permission.getOtherAction().SYMBOL;
            Files.setPosixFilePermissions(pathToFile(path).toPath(), PosixFilePermissions.fromString(symbolic));
        }
    }
}
