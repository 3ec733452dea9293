//! A real SMTP server in the test process: records every message it accepts,
//! and can be told to refuse (4xx/5xx), to hang, or to be down.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How the server answers from now on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    Accept,
    /// This reply (e.g. `450 4.2.1 Mailbox busy`) to every `RCPT TO`.
    RejectRecipient(String),
    /// This reply after the message data, instead of 250.
    RejectData(String),
    /// Reads the message data and never answers.
    HangAfterData,
    /// Accepts the message data, but answers only after this long.
    AnswerLate(Duration),
    /// `421` to `MAIL FROM`, then closes the connection (a relay shutting down).
    CloseAtMail,
    /// Reads the message data, then closes without a reply: the client
    /// cannot know whether the message was taken.
    DropAfterData,
    /// Accepts TCP connections and never sends the greeting.
    NeverGreet,
    /// Answers each message's data after a pseudo-random pause of up to
    /// `max`; one message in `slow_one_in` waits `slow` instead.
    RandomDelays {
        max: Duration,
        slow: Duration,
        slow_one_in: u64,
    },
}

#[derive(Debug, Clone)]
pub struct ReceivedEmail {
    pub mail_from: String,
    pub recipients: Vec<String>,
    pub raw: Vec<u8>,
}

pub struct SmtpServer {
    port: u16,
    state: Arc<State>,
    running: Mutex<Option<CancellationToken>>,
}

struct State {
    behaviour: Mutex<Behaviour>,
    /// Replies to `RCPT TO` for particular addresses, whatever the behaviour.
    refused_recipients: Mutex<Vec<(String, String)>>,
    /// A pause before answering each message's data, like a slow relay.
    data_delay: Mutex<Duration>,
    messages: Mutex<Vec<ReceivedEmail>>,
    accepted: watch::Sender<usize>,
    /// Replies other than 2xx/3xx sent so far.
    refused: watch::Sender<usize>,
    /// Messages read in full and never answered (`Behaviour::DropAfterData`).
    dropped: Mutex<Vec<ReceivedEmail>>,
    /// Messages whose data arrived, numbering the pauses of `RandomDelays`.
    data_count: std::sync::atomic::AtomicU64,
    /// Late answers sent so far (`Behaviour::AnswerLate`, `RandomDelays`' slow ones).
    late_answers: watch::Sender<usize>,
    /// Commands received on a connection after a late answer: a client that
    /// reads replies in step never sends any (it gave up on that connection).
    commands_after_late_answer: std::sync::atomic::AtomicUsize,
}

const WAIT: Duration = Duration::from_secs(20);

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the test SMTP server");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State {
            behaviour: Mutex::new(Behaviour::Accept),
            refused_recipients: Mutex::new(Vec::new()),
            data_delay: Mutex::new(Duration::ZERO),
            messages: Mutex::new(Vec::new()),
            dropped: Mutex::new(Vec::new()),
            data_count: std::sync::atomic::AtomicU64::new(0),
            accepted: watch::Sender::new(0),
            refused: watch::Sender::new(0),
            late_answers: watch::Sender::new(0),
            commands_after_late_answer: std::sync::atomic::AtomicUsize::new(0),
        });
        let server = SmtpServer { port, state, running: Mutex::new(None) };
        server.serve(listener);
        server
    }

    fn serve(&self, listener: TcpListener) {
        let stop = CancellationToken::new();
        *self.running.lock().unwrap() = Some(stop.clone());
        let state = self.state.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let (state, stop) = (state.clone(), stop.clone());
                        tokio::spawn(async move {
                            tokio::select! {
                                () = stop.cancelled() => {}
                                _ = session(stream, state) => {}
                            }
                        });
                    }
                }
            }
        });
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn set_behaviour(&self, behaviour: Behaviour) {
        *self.state.behaviour.lock().unwrap() = behaviour;
    }

    /// Answers `reply` (e.g. `550 5.1.1 No such user`) to `RCPT TO:<address>`.
    pub fn refuse_recipient(&self, address: &str, reply: &str) {
        self.state.refused_recipients.lock().unwrap().push((address.to_ascii_lowercase(), reply.to_owned()));
    }

    /// Accepts every recipient again.
    pub fn clear_refusals(&self) {
        self.state.refused_recipients.lock().unwrap().clear();
    }

    /// Waits this long before accepting each message.
    pub fn set_data_delay(&self, delay: Duration) {
        *self.state.data_delay.lock().unwrap() = delay;
    }

    /// Closes the port and every open session: connections are refused.
    pub fn stop(&self) {
        if let Some(stop) = self.running.lock().unwrap().take() {
            stop.cancel();
        }
    }

    /// Listens on the same port again.
    pub async fn restart(&self) {
        self.stop();
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(listener) => break listener,
                // The stopped accept loop may still hold the port for a moment.
                Err(_) => tokio::task::yield_now().await,
            }
        };
        self.serve(listener);
    }

    pub fn messages(&self) -> Vec<ReceivedEmail> {
        self.state.messages.lock().unwrap().clone()
    }

    pub fn messages_to(&self, recipient: &str) -> Vec<ReceivedEmail> {
        self.messages().into_iter().filter(|m| m.recipients.iter().any(|r| r.eq_ignore_ascii_case(recipient))).collect()
    }

    /// Messages read and then dropped without a reply.
    pub fn dropped(&self) -> Vec<ReceivedEmail> {
        self.state.dropped.lock().unwrap().clone()
    }

    /// Late answers sent so far.
    pub fn late_answers(&self) -> usize {
        *self.state.late_answers.borrow()
    }

    /// Waits until at least `count` messages were accepted in all.
    pub async fn wait_for_messages(&self, count: usize) -> Vec<ReceivedEmail> {
        let mut accepted = self.state.accepted.subscribe();
        let reached = tokio::time::timeout(WAIT, accepted.wait_for(|n| *n >= count)).await;
        assert!(reached.is_ok(), "expected {count} message(s), the SMTP server accepted {}", self.messages().len());
        self.messages()
    }

    /// Waits for the first message to `recipient`.
    pub async fn wait_for_message_to(&self, recipient: &str) -> ReceivedEmail {
        let mut accepted = self.state.accepted.subscribe();
        let found = tokio::time::timeout(WAIT, async {
            loop {
                if let Some(message) = self.messages_to(recipient).into_iter().next() {
                    return message;
                }
                accepted.changed().await.unwrap();
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("no message to {recipient} arrived"))
    }

    /// Waits until the server has sent `count` late answers in all.
    pub async fn wait_for_late_answers(&self, count: usize) {
        let mut late = self.state.late_answers.subscribe();
        let reached = tokio::time::timeout(WAIT, late.wait_for(|n| *n >= count)).await.is_ok();
        assert!(reached, "expected {count} late answer(s)");
    }

    /// Commands other than QUIT that arrived on a connection after its late answer.
    pub fn commands_after_late_answer(&self) -> usize {
        self.state.commands_after_late_answer.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits until the server has refused `count` commands in all.
    pub async fn wait_for_refusals(&self, count: usize) {
        let mut refused = self.state.refused.subscribe();
        let reached = tokio::time::timeout(WAIT, refused.wait_for(|n| *n >= count)).await.is_ok();
        assert!(reached, "expected {count} refusal(s), got {}", *self.state.refused.borrow());
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn session(stream: TcpStream, state: Arc<State>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if matches!(*state.behaviour.lock().unwrap(), Behaviour::NeverGreet) {
        std::future::pending::<()>().await;
    }
    write.write_all(b"220 bulletin-test ESMTP\r\n").await?;
    let mut envelope = ReceivedEmail { mail_from: String::new(), recipients: Vec::new(), raw: Vec::new() };
    let mut line = String::new();
    let mut answered_late = false;
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        if answered_late && verb != "QUIT" {
            state.commands_after_late_answer.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        let behaviour = state.behaviour.lock().unwrap().clone();
        let reply = match verb.as_str() {
            "EHLO" => "250-bulletin-test\r\n250 SIZE 10485760".to_owned(),
            "HELO" | "NOOP" => "250 OK".to_owned(),
            "RSET" => {
                envelope = ReceivedEmail { mail_from: String::new(), recipients: Vec::new(), raw: Vec::new() };
                "250 OK".to_owned()
            }
            "MAIL" if matches!(behaviour, Behaviour::CloseAtMail) => {
                write.write_all(b"421 4.3.2 Service shutting down, closing transmission channel\r\n").await?;
                state.refused.send_modify(|n| *n += 1);
                return Ok(());
            }
            "MAIL" => {
                envelope.mail_from = address_in(&command);
                envelope.recipients.clear();
                "250 OK".to_owned()
            }
            "RCPT" => {
                let address = address_in(&command);
                let refused = state
                    .refused_recipients
                    .lock()
                    .unwrap()
                    .iter()
                    .find(|(a, _)| a.eq_ignore_ascii_case(&address))
                    .map(|(_, r)| r.clone());
                match (refused, behaviour) {
                    (Some(reply), _) | (None, Behaviour::RejectRecipient(reply)) => reply,
                    _ => {
                        envelope.recipients.push(address);
                        "250 OK".to_owned()
                    }
                }
            }
            "DATA" => {
                write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                envelope.raw = read_data(&mut lines).await?;
                let number = state.data_count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                match behaviour {
                    Behaviour::DropAfterData => {
                        state.dropped.lock().unwrap().push(envelope);
                        return Ok(());
                    }
                    Behaviour::RandomDelays { max, slow, slow_one_in } => {
                        let spread = scramble(number);
                        let is_slow = spread.is_multiple_of(slow_one_in);
                        let max_ms = u64::try_from(max.as_millis()).unwrap().max(1);
                        let pause = if is_slow { slow } else { Duration::from_millis(spread % max_ms) };
                        tokio::time::sleep(pause).await;
                        state.messages.lock().unwrap().push(envelope.clone());
                        state.accepted.send_modify(|n| *n += 1);
                        if is_slow {
                            state.late_answers.send_modify(|n| *n += 1);
                            answered_late = true;
                        }
                        "250 2.0.0 queued".to_owned()
                    }
                    Behaviour::RejectData(reply) => reply,
                    Behaviour::HangAfterData => {
                        std::future::pending::<()>().await;
                        unreachable!()
                    }
                    Behaviour::AnswerLate(delay) => {
                        tokio::time::sleep(delay).await;
                        state.messages.lock().unwrap().push(envelope.clone());
                        state.accepted.send_modify(|n| *n += 1);
                        write.write_all(b"250 2.0.0 queued, late\r\n").await?;
                        state.late_answers.send_modify(|n| *n += 1);
                        answered_late = true;
                        continue;
                    }
                    _ => {
                        let delay = *state.data_delay.lock().unwrap();
                        if !delay.is_zero() {
                            tokio::time::sleep(delay).await;
                        }
                        state.messages.lock().unwrap().push(envelope.clone());
                        state.accepted.send_modify(|n| *n += 1);
                        "250 2.0.0 queued".to_owned()
                    }
                }
            }
            "QUIT" => {
                write.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            }
            _ => "502 5.5.2 Command not recognized".to_owned(),
        };
        if reply.starts_with('4') || reply.starts_with('5') {
            state.refused.send_modify(|n| *n += 1);
        }
        write.write_all(format!("{reply}\r\n").as_bytes()).await?;
    }
}

/// A well-spread number from a counter (splitmix64), so runs are repeatable.
fn scramble(counter: u64) -> u64 {
    let mut z = counter.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The message data up to the lone dot, with dot-stuffing undone.
async fn read_data(lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> std::io::Result<Vec<u8>> {
    let mut data = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if lines.read_until(b'\n', &mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok(data);
        }
        let unstuffed = if line.starts_with(b"..") { &line[1..] } else { &line[..] };
        data.extend_from_slice(unstuffed);
    }
}

fn address_in(command: &str) -> String {
    let start = command.find('<').map_or(0, |i| i + 1);
    let end = command.rfind('>').unwrap_or(command.len());
    command.get(start..end).unwrap_or("").to_owned()
}

impl ReceivedEmail {
    pub fn parsed(&self) -> mailparse::ParsedMail<'_> {
        mailparse::parse_mail(&self.raw).expect("a parsable message")
    }

    pub fn header(&self, name: &str) -> Option<String> {
        use mailparse::MailHeaderMap;
        self.parsed().headers.get_first_value(name)
    }

    /// The decoded body of the first part with this MIME type.
    pub fn body(&self, mime_type: &str) -> Option<String> {
        fn find(part: &mailparse::ParsedMail<'_>, mime_type: &str) -> Option<String> {
            if part.subparts.is_empty() {
                return (part.ctype.mimetype == mime_type).then(|| part.get_body().unwrap());
            }
            part.subparts.iter().find_map(|p| find(p, mime_type))
        }
        find(&self.parsed(), mime_type)
    }

    /// The text part, with `\n` line ends.
    pub fn text(&self) -> String {
        self.body("text/plain").expect("a text/plain part").replace("\r\n", "\n")
    }

    pub fn html(&self) -> String {
        self.body("text/html").expect("a text/html part")
    }

    /// The one link to `path` in the text part; it must point at the test app.
    pub fn link_to(&self, path: &str) -> String {
        let pattern =
            regex::Regex::new(&format!(r"https?://[^\s]+{}\?token=[A-Za-z0-9_-]+", regex::escape(path))).unwrap();
        let text = self.text();
        let links: Vec<&str> = pattern.find_iter(&text).map(|m| m.as_str()).collect();
        assert_eq!(links.len(), 1, "expected one {path} link in:\n{}", self.text());
        let link = links[0].to_owned();
        assert!(link.starts_with("http://127.0.0.1:"), "links must point at the test app, not {link}");
        link
    }

    pub fn confirmation_link(&self) -> String {
        self.link_to("/subscriptions/confirm")
    }
}
