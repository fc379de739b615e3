// Asks a KRaft controller for the cluster's ACLs as a client with no credentials would
// (bootstrap.controllers, PLAINTEXT). Exit 0: it answered; exit 3: it refused or never
// answered. Run with Java's single-file launcher and the broker's jars on the class path.
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.acl.AclBindingFilter;

public class ControllerProbe {
    public static void main(String[] args) {
        Properties properties = new Properties();
        properties.put("bootstrap.controllers", args[0]);
        properties.put("request.timeout.ms", "4000");
        properties.put("default.api.timeout.ms", "8000");
        try (Admin admin = Admin.create(properties)) {
            int count = admin.describeAcls(AclBindingFilter.ANY).values()
                .get(10, TimeUnit.SECONDS).size();
            System.out.println("answered: " + count + " ACLs");
        } catch (Exception refused) {
            System.out.println("refused: " + refused.getClass().getSimpleName());
            System.exit(3);
        }
    }
}
